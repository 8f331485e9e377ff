using System.Text.Json.Nodes;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tracker.Functions.Auth;

namespace Tracker.Functions.Endpoints;

/// <summary>Plain routes outside MLflow's RPCs: health and version.</summary>
public static class ServiceEndpoints
{
    /// <summary>
    /// What <c>GET /version</c> reports. MLflow ≥ 3.4 clients would then export OTLP spans to /v1/traces, which Tracker
    /// does not store; 3.3 keeps 3.x clients on the classic APIs.
    /// </summary>
    public const string MlflowCompatibleVersion = "3.3.2";

    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder app)
    {
        // The Functions host's readiness probe, GET /, is the web UI's index.html (WebUiEndpoints): it answers from memory.
        // Whether this instance can serve: 200 or 503 with {"status", "storage"} (a cached storage probe, see
        // StorageHealthCheck). Flex Consumption has no platform health check; this is for availability tests and monitors.
        app.MapGet("/health", CheckHealth).Public();
        app.MapGet("/version", () => Results.Text(MlflowCompatibleVersion)).Public();
        return app;
    }

    public static async Task<IResult> CheckHealth(HealthCheckService health, HttpResponse response, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(ct);
        var body = new JsonObject { ["status"] = report.Status.ToString() };
        foreach (var (name, entry) in report.Entries) body[name] = entry.Description;
        response.Headers.CacheControl = "no-store";
        return Results.Text(body.ToJsonString(), "application/json", statusCode: report.Status == HealthStatus.Unhealthy ? 503 : 200);
    }
}
