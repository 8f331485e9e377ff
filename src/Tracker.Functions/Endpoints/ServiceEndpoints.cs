namespace Tracker.Functions.Endpoints;

/// <summary>Plain routes outside MLflow's RPCs: the host's readiness probe, health and version.</summary>
public static class ServiceEndpoints
{
    /// <summary>
    /// What <c>GET /version</c> reports. MLflow ≥ 3.4 clients would then export OTLP spans to /v1/traces, which Tracker
    /// does not store; 3.3 keeps 3.x clients on the classic APIs.
    /// </summary>
    public const string MlflowCompatibleVersion = "3.3.2";

    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder app)
    {
        // The Functions host polls GET / until the handler answers; it is not exposed through any function route.
        app.MapGet("/", () => Results.Text("OK"));
        app.MapGet("/health", () => Results.Text("OK"));
        app.MapGet("/version", () => Results.Text(MlflowCompatibleVersion));
        return app;
    }
}
