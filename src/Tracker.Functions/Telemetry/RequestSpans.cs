using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;

namespace Tracker.Functions.Telemetry;

/// <summary>
/// Names ASP.NET Core's own request activity and gives it OpenTelemetry's HTTP attributes (method, route, path, status),
/// from which Application Insights builds its requests, once the response is known. This replaces the
/// OpenTelemetry.Instrumentation.AspNetCore package: its DiagnosticListener callbacks made a warm log-metric call 18 – 27 %
/// slower, this about 3 % (bench/README.md, "Telemetry and auth"). The query string is never recorded: it may carry
/// function keys (<c>code=</c>) and SAS signatures (<c>sig=</c>).
/// </summary>
internal static class RequestSpans
{
    public static async Task TagAsync(HttpContext context, RequestDelegate next)
    {
        Exception? failure = null;
        try
        {
            await next(context);
        }
        catch (Exception e)
        {
            failure = e;
            throw;
        }
        finally
        {
            // No activity, or one nobody records: telemetry is off, or not built yet (TelemetryPipeline).
            if (context.Features.Get<IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity)
                Tag(activity, context, failure);
        }
    }

    private static void Tag(Activity activity, HttpContext context, Exception? failure)
    {
        var request = context.Request;
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        var status = failure is null ? context.Response.StatusCode : StatusCodes.Status500InternalServerError;
        activity.DisplayName = route is null ? request.Method : $"{request.Method} {route}";
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("server.address", request.Host.Host);
        if (request.Host.Port is { } port) activity.SetTag("server.port", port);
        activity.SetTag("network.protocol.version", request.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) ? request.Protocol[5..] : request.Protocol);
        if (route is not null) activity.SetTag("http.route", route);
        activity.SetTag("http.response.status_code", status);
        if (status >= StatusCodes.Status500InternalServerError)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag("error.type", failure?.GetType().FullName ?? status.ToString(CultureInfo.InvariantCulture));
        }
    }
}
