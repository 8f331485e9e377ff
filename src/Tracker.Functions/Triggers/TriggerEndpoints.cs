using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Tracker.Core;
using Tracker.Core.Storage;
using Tracker.Functions.Auth;

namespace Tracker.Functions.Triggers;

/// <summary>
/// <c>POST /&lt;FunctionName&gt;</c> for every <see cref="QueueTrigger"/> and <see cref="TimerTrigger"/>: how the
/// Functions host invokes a queue or timer function.
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
    /// <summary>A queue message is at most 64 KiB (a timer's payload is a few hundred bytes); quoted twice and wrapped
    /// in metadata it stays far below this.</summary>
    private const long MaxBodyBytes = 1024 * 1024;

    private static readonly string[] ProxyHeaders = ["X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Original-URL"];

    public static IEndpointRouteBuilder MapTriggerEndpoints(this IEndpointRouteBuilder app)
    {
        foreach (var trigger in QueueTrigger.All)
        {
            Func<IServiceProvider, QueueMessage, CancellationToken, Task<string>> handle =
                (services, message, ct) => HandleQueueMessageAsync(services, trigger, message, ct);
            app.MapPost("/" + trigger.FunctionName, context => InvokeAsync(context, trigger.FunctionName,
                    body => HostInvocation.ParseQueueMessage(body, trigger), handle))
                .WithMetadata(new RouteAccess(AccessRule.FunctionsHost));
        }
        foreach (var trigger in TimerTrigger.All)
        {
            Func<IServiceProvider, TimerTick, CancellationToken, Task<string>> handle =
                (services, tick, ct) => HandleTimerTickAsync(services, trigger, tick, ct);
            app.MapPost("/" + trigger.FunctionName, context => InvokeAsync(context, trigger.FunctionName,
                    body => HostInvocation.ParseTimerTick(body, trigger, context.RequestServices.GetRequiredService<TimeProvider>()), handle))
                .WithMetadata(new RouteAccess(AccessRule.FunctionsHost));
        }
        return app;
    }

    private static async Task<string> HandleQueueMessageAsync(IServiceProvider services, QueueTrigger trigger, QueueMessage message, CancellationToken ct)
    {
        try
        {
            await trigger.HandleAsync(services, message, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Non-2xx: the invocation fails, the message comes back after visibilityTimeout, and after maxDequeueCount
            // deliveries it lands in <queue>-poison.
            throw new TriggerFailedException($"delivery {message.DequeueCount} of message {message.Id}", e);
        }
        return $"{trigger.FunctionName} handled message {message.Id}.";
    }

    private static async Task<string> HandleTimerTickAsync(IServiceProvider services, TimerTrigger trigger, TimerTick tick, CancellationToken ct)
    {
        try
        {
            await trigger.HandleAsync(services, tick, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Non-2xx: the host logs the failed invocation; a timer is not retried, the next occurrence runs as scheduled.
            throw new TriggerFailedException($"the tick of {tick.UtcNow:O}{(tick.IsPastDue ? " (past due)" : "")}", e);
        }
        return $"{trigger.FunctionName} ran for the tick of {tick.UtcNow:O}.";
    }

    /// <summary>
    /// The one path of every host invocation: refuse what is not the host's own call, parse the payload (400 when it is
    /// not one the host sends), run the handler (500 when it fails) and answer in the host's reply shape.
    /// </summary>
    private static async Task InvokeAsync<T>(HttpContext context, string function, Func<JsonNode?, T> parse,
        Func<IServiceProvider, T, CancellationToken, Task<string>> handle)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tracker.Triggers");
        if (Refusal(context) is { } refusal)
        {
            LogRefused(logger, function, refusal);
            await WriteAsync(context, StatusCodes.Status403Forbidden, HostInvocation.Reply($"Refused: {refusal}."));
            return;
        }

        T invocation;
        try
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxBodyBytes;
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            invocation = parse(body);
        }
        catch (Exception e) when (e is JsonException or FormatException or BadHttpRequestException)
        {
            // A queue message the host cannot get handled is retried, then moved to the poison queue, where it is visible.
            LogMalformed(logger, function, e.Message);
            await WriteAsync(context, StatusCodes.Status400BadRequest, HostInvocation.Reply($"Malformed invocation: {Echo.Truncate(e.Message)}"));
            return;
        }

        string done;
        try
        {
            done = await handle(context.RequestServices, invocation, context.RequestAborted);
        }
        catch (Exception e)
        {
            var (what, error) = e is TriggerFailedException failed ? (failed.Invocation, e.InnerException!) : ("the invocation", e);
            LogFailed(logger, error, function, what);
            await WriteAsync(context, StatusCodes.Status500InternalServerError,
                HostInvocation.Reply($"{function} failed on {what}: {error.GetType().Name}: {Echo.Truncate(error.Message)}"));
            return;
        }
        await WriteAsync(context, StatusCodes.Status200OK, HostInvocation.Reply(done));
    }

    /// <summary>A handler's failure, with what it failed on for the log.</summary>
    private sealed class TriggerFailedException(string invocation, Exception inner) : Exception(inner.Message, inner)
    {
        public string Invocation { get; } = invocation;
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Trigger {Function} failed on {Invocation}.")]
    private static partial void LogFailed(ILogger logger, Exception error, string function, string invocation);
}
