namespace Tracker.Functions.Endpoints;

/// <summary>MLflow's REST API, mounted under both of MLflow's roots (the client uses /api, the web UI /ajax-api).</summary>
public static class MlflowApi
{
    public static readonly string[] Roots = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"];

    public static IEndpointRouteBuilder MapMlflowApi(this IEndpointRouteBuilder app)
    {
        foreach (var root in Roots)
        {
            var api = app.MapGroup(root);
            api.MapExperimentEndpoints();
            api.MapRunEndpoints();
            api.MapMetricEndpoints();
            api.MapRunArtifactEndpoints();
        }
        return app;
    }
}
