using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Tracker.Core;
using Tracker.Core.Storage;
using Tracker.Functions.Auth;

namespace Tracker.Functions.Triggers;

/// <summary>
/// <c>POST /&lt;FunctionName&gt;</c> for every <see cref="QueueTrigger"/>: how the Functions host invokes a queue function.
/// <para>
/// Who can reach these: only the host. From outside, the host passes requests through only on the HTTP functions'
/// routes, which all start with an allow-listed literal prefix that no function is named after (tests in Host/), so an
/// outside <c>POST https://app/PromoteModel</c> never arrives as <c>/PromoteModel</c>. As a second line, an invocation
/// must come over loopback and carry no proxy headers (the host's own calls have none; a relayed request has). The
/// routes are declared <see cref="AccessRule.FunctionsHost"/>: no user sign-in and no sign-in throttle (the host's
/// loopback address must never be throttled for someone else's failures), and they answer in the host's shape, never
/// MLflow's. The handler still validates and authorizes every message itself (security case 32b).
/// </para>
/// </summary>
public static partial class TriggerEndpoints
{
    /// <summary>A queue message is at most 64 KiB; quoted twice and wrapped in metadata it stays far below this.</summary>
    private const long MaxBodyBytes = 1024 * 1024;

    private static readonly string[] ProxyHeaders = ["X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Original-URL"];

    public static IEndpointRouteBuilder MapTriggerEndpoints(this IEndpointRouteBuilder app)
    {
        foreach (var trigger in QueueTrigger.All)
        {
            app.MapPost("/" + trigger.FunctionName, context => InvokeAsync(context, trigger))
                .WithMetadata(new RouteAccess(AccessRule.FunctionsHost));
        }
        return app;
    }

    private static async Task InvokeAsync(HttpContext context, QueueTrigger trigger)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tracker.Triggers");
        if (Refusal(context) is { } refusal)
        {
            LogRefused(logger, trigger.FunctionName, refusal);
            await WriteAsync(context, StatusCodes.Status403Forbidden, HostInvocation.Reply($"Refused: {refusal}."));
            return;
        }

        QueueMessage message;
        try
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxBodyBytes;
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            message = HostInvocation.ParseQueueMessage(body, trigger);
        }
        catch (Exception e) when (e is JsonException or FormatException or BadHttpRequestException)
        {
            // The host retries, then moves the message to the poison queue: a payload Tracker cannot read is visible there.
            LogMalformed(logger, trigger.FunctionName, e.Message);
            await WriteAsync(context, StatusCodes.Status400BadRequest, HostInvocation.Reply($"Malformed invocation: {Echo.Truncate(e.Message)}"));
            return;
        }

        try
        {
            var handler = context.RequestServices.GetKeyedService<IQueueHandler>(trigger.Queue)
                          ?? throw new InvalidOperationException($"No IQueueHandler is registered for queue '{trigger.Queue}'.");
            using var span = QueueTrace.StartProcessing(message, trigger.FunctionName);
            await handler.HandleAsync(message, context.RequestAborted);
        }
        catch (Exception e)
        {
            // Non-2xx: the invocation fails, the message comes back after visibilityTimeout, and after maxDequeueCount
            // deliveries it lands in <queue>-poison.
            LogFailed(logger, e, trigger.FunctionName, message.Id, message.DequeueCount);
            await WriteAsync(context, StatusCodes.Status500InternalServerError,
                HostInvocation.Reply($"{trigger.FunctionName} failed on delivery {message.DequeueCount}: {e.GetType().Name}: {Echo.Truncate(e.Message)}"));
            return;
        }
        await WriteAsync(context, StatusCodes.Status200OK, HostInvocation.Reply($"{trigger.FunctionName} handled message {message.Id}."));
    }

    /// <summary>Why a request is not the host's own invocation, or null when it may be.</summary>
    internal static string? Refusal(HttpContext context)
    {
        // null: no network peer (in-process test server, Unix socket).
        if (context.Connection.RemoteIpAddress is { } remote && !IPAddress.IsLoopback(remote)) return "not a loopback caller";
        if (ProxyHeaders.Any(context.Request.Headers.ContainsKey)) return "the request was relayed by a proxy";
        return null;
    }

    private static async Task WriteAsync(HttpContext context, int status, JsonObject reply)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(reply.ToJsonString(), context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a call to trigger {Function}: {Reason}.")]
    private static partial void LogRefused(ILogger logger, string function, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trigger {Function} got a malformed invocation: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string function, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trigger {Function} failed on message {MessageId} (delivery {DequeueCount}).")]
    private static partial void LogFailed(ILogger logger, Exception error, string function, string? messageId, long dequeueCount);
}
