using System.Net;
using Microsoft.Extensions.Options;
using Tracker.Core;
using Tracker.Core.Storage;

namespace Tracker.Functions.Http;

/// <summary>The request pipeline around the endpoints: host check, storage-request counting, MLflow-shaped errors.</summary>
public static class TrackerMiddleware
{
    public const string StorageRequestsHeader = "X-Tracker-Storage-Requests";

    public static WebApplication UseTrackerPipeline(this WebApplication app)
    {
        app.Use(NoSniff);
        app.Use(WriteErrorsAsMlflowJson);
        app.Use(RejectUnknownHosts);
        if (app.Services.GetRequiredService<IOptions<DiagnosticsOptions>>().Value.StorageRequestHeader)
            app.Use(CountStorageRequests);
        // Routing's own 404/405 have no body; MLflow clients expect JSON, and ENDPOINT_NOT_FOUND drives their fallbacks.
        app.UseStatusCodePages(context => WriteStatusCodeAsync(context.HttpContext));
        return app;
    }

    /// <summary>No response of Tracker's is ever content-sniffed into something a browser renders (security baseline §1.7).</summary>
    private static Task NoSniff(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(() =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff"; // set last, so error responses that Clear() keep it
            return Task.CompletedTask;
        });
        return next(context);
    }

    private static Task RejectUnknownHosts(HttpContext context, RequestDelegate next)
    {
        var allowed = context.RequestServices.GetRequiredService<IOptions<HttpOptions>>().Value.AllowedHosts;
        // Under the Functions host's proxying mode (YARP) the caller's host arrives as X-Forwarded-Host.
        var forwarded = context.Request.Headers["X-Forwarded-Host"].ToString();
        var host = forwarded.Length > 0 ? new HostString(forwarded.Split(',')[0].Trim()).Host : context.Request.Host.Host;
        if (IsLoopback(host) || allowed.Exists(a => string.Equals(a, host, StringComparison.OrdinalIgnoreCase)))
            return next(context);
        return MlflowJson.Error(ErrorCode.BadRequest, "Invalid Host header.").ExecuteAsync(context);

        static bool IsLoopback(string host) =>
            string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    private static Task CountStorageRequests(HttpContext context, RequestDelegate next)
    {
        var counter = StorageRequestCounter.Begin();
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[StorageRequestsHeader] = counter.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
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
            BadHttpRequestException e => (new ErrorCode(ErrorCode.BadRequest.Name, e.StatusCode), e.Message),
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
