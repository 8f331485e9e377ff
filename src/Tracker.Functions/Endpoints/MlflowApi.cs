

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow's REST API, mounted under both of MLflow's roots (the client uses /api, the web UI /ajax-api); the UI's own
/// few routes only under /ajax-api, as MLflow has them.
/// </summary>
public static class MlflowApi
{
    public const string AjaxRoot = "/ajax-api/2.0/mlflow";
    public static readonly string[] Roots = ["/api/2.0/mlflow", AjaxRoot];

    public static IEndpointRouteBuilder MapMlflowApi(this IEndpointRouteBuilder app)
    {
        foreach (var root in Roots)
        {
            var api = app.MapGroup(root);
            api.MapExperimentEndpoints();
            api.MapRunEndpoints();
            api.MapMetricEndpoints();
            api.MapRunArtifactEndpoints();
            api.MapLoggedModelEndpoints();
            api.MapRegisteredModelEndpoints();
            api.MapModelVersionEndpoints();
            api.MapUserEndpoints();
            api.MapPermissionEndpoints();
            api.MapWebhookEndpoints();
            if (root == AjaxRoot) api.MapAjaxOnlyEndpoints();
        }
        return app;
    }
}
