using System.Net;
using Microsoft.Extensions.Options;
using Tracker.Core;
using Tracker.Core.Storage;

namespace Tracker.Functions.Http;

/// <summary>The request pipeline around the endpoints: host check, storage-request counting, MLflow-shaped errors.</summary>
public static class TrackerMiddleware
{
    public const string StorageRequestsHeader = "X-Tracker-Storage-Requests";
    /// <summary>On search responses with the diagnostics header on: <c>runs=N; bytes=B</c>, what this instance's search
    /// cache holds (the bench reads exactly this name and format).</summary>
    public const string SearchCacheHeader = "X-Tracker-Search-Cache";

    /// <summary>
    /// Seconds a client should wait before retrying a 503. The MLflow client (urllib3) sleeps exactly this long instead
    /// of its exponential backoff, so its 7 retries span about 35 s.
    /// </summary>
    public const int RetryAfterSeconds = 5;

    public static WebApplication UseTrackerPipeline(this WebApplication app)
    {
        app.Use(app.Services.GetRequiredService<IdleMemoryTrimmer>().Track);
        app.Use(AnswerHeadAsGet);
        app.Use(AddResponseHeaders);
        app.Use(WriteErrorsAsMlflowJson);
        app.Use(RejectUnknownHosts);
        if (app.Services.GetRequiredService<IOptions<DiagnosticsOptions>>().Value.StorageRequestHeader)
            app.Use(CountStorageRequests);
        // Routing's own 404/405 have no body; MLflow clients expect JSON, and ENDPOINT_NOT_FOUND drives their fallbacks.
        app.UseStatusCodePages(context => WriteStatusCodeAsync(context.HttpContext));
        // Explicitly here, so routing sees HEAD as GET and nothing is routed before the host check.
        app.UseRouting();
        return app;
    }

    /// <summary>
    /// Flask answers HEAD on every GET route, as MLflow's server does; ASP.NET routing would answer 405. HEAD runs the
    /// GET endpoint (same status and headers) with the body discarded, as Flask does too, so HEAD on a proxied
    /// download reads the blob like GET would.
    /// </summary>
    private static async Task AnswerHeadAsGet(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }
        var body = context.Response.Body;
        context.Request.Method = HttpMethods.Get;
        context.Response.Body = Stream.Null;
        try
        {
            await next(context);
        }
        finally
        {
            context.Request.Method = HttpMethods.Head;
            context.Response.Body = body;
        }
    }

    /// <summary>
    /// No response of Tracker's is ever content-sniffed into something a browser renders (security baseline §1.7), and
    /// every 503 (storage throttled or unreachable) says when to retry.
    /// </summary>
    private static Task AddResponseHeaders(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(() =>
        {
            // set last, so error responses that Clear() keep them
            context.Response.Headers.XContentTypeOptions = "nosniff";
            if (context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable)
                context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>
    /// DNS-rebinding guard (security baseline §1.4): a rebound page is same-origin and can send any header, so only
    /// names Tracker is meant to answer to pass. <c>X-Forwarded-Host</c> counts only where the Functions host sets it
    /// (<see cref="HttpOptions.TrustForwardedHost"/>): under its proxying mode (YARP) <c>Host</c> is the loopback
    /// address it calls and X-Forwarded-Host the caller's host, set (not appended) by YARP; under its forwarding mode
    /// <c>Host</c> is the public name and any X-Forwarded-Host is the caller's own. So both must be allowed. Locally
    /// nothing sets it and the header is ignored: <c>Host</c> alone decides.
    /// </summary>
    private static Task RejectUnknownHosts(HttpContext context, RequestDelegate next)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<HttpOptions>>().Value;
        var forwarded = options.TrustForwardedHost
            ? context.Request.Headers["X-Forwarded-Host"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            : [];
        if (IsAllowed(context.Request.Host.Host) && forwarded.All(f => IsAllowed(new HostString(f).Host)))
            return next(context);
        return MlflowJson.Error(ErrorCode.BadRequest, "Invalid Host header.").ExecuteAsync(context);

        bool IsAllowed(string host) =>
            string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)) ||
            options.AllowedHosts.Exists(a => string.Equals(a, host, StringComparison.OrdinalIgnoreCase));
    }

    private static Task CountStorageRequests(HttpContext context, RequestDelegate next)
    {
        var counter = StorageRequestCounter.Begin();
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[StorageRequestsHeader] = counter.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (context.Request.Path.Value?.EndsWith("/runs/search", StringComparison.Ordinal) == true)
            {
                var (runs, bytes) = context.RequestServices.GetRequiredService<TrackingStore>().SearchCacheStatistics();
                context.Response.Headers[SearchCacheHeader] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"runs={runs}; bytes={bytes}");
            }
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>Every failure leaves as <c>{"error_code","message"}</c>; only storage outages and bugs are 5xx.</summary>
    private static async Task WriteErrorsAsMlflowJson(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            await WriteExceptionAsync(context, error);
        }
    }

    private static async Task WriteExceptionAsync(HttpContext context, Exception error)
    {
        var (code, message) = error switch
        {
            MlflowException e => (e.Code, e.Message),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e => (ErrorCode.PayloadTooLarge, e.Message),
            BadHttpRequestException e => (new ErrorCode(ErrorCode.BadRequest.Name, e.StatusCode), e.Message),
            // Kestrel reports an overflowing chunk size as a bare IOException around an OverflowException
            // (Http1ChunkedEncodingMessageBody.CalculateChunkSize), not as the BadHttpRequestException of other bad framing.
            IOException { InnerException: OverflowException } e => (ErrorCode.BadRequest, e.Message),
            OperationCanceledException => (new ErrorCode("CANCELLED", 499), "The request was cancelled."),
            _ => (ErrorCode.InternalError, "An internal error occurred."),
        };
        if (code.HttpStatus >= 500)
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tracker.Errors")
                .LogError(error, "Request {Method} {Path} failed with {ErrorCode}", context.Request.Method, context.Request.Path.Value, code.Name);
        await MlflowJson.Error(code, message).ExecuteAsync(context);
    }

    private static Task WriteStatusCodeAsync(HttpContext context)
    {
        var status = context.Response.StatusCode;
        var (code, message) = status switch
        {
            404 => (ErrorCode.EndpointNotFound, $"No API endpoint matches {context.Request.Method} {context.Request.Path.Value}."),
            405 => (new ErrorCode(ErrorCode.EndpointNotFound.Name, 405), $"Method {context.Request.Method} is not allowed on {context.Request.Path.Value}."),
            _ => (new ErrorCode(ErrorCode.BadRequest.Name, status), "The request could not be served."),
        };
        return MlflowJson.Error(code, message).ExecuteAsync(context);
    }
}
