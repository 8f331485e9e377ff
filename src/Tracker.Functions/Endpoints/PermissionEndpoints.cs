using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow's experiment and registered-model permission API (mlflow/server/auth/__init__.py): whoever may MANAGE the
/// experiment or model grants, reads, changes and withdraws other users' permissions on it. Neither needs the resource
/// to exist, as in MLflow, so a registered model can be granted before the registry holds it.
/// </summary>
public static class PermissionEndpoints
{
    public static RouteGroupBuilder MapPermissionEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/experiments/permissions/create", CreateExperimentPermission).Requires(Permission.Manage, Resource.Experiment);
        api.MapGet("/experiments/permissions/get", GetExperimentPermission).Requires(Permission.Manage, Resource.Experiment);
        api.MapPatch("/experiments/permissions/update", UpdateExperimentPermission).Requires(Permission.Manage, Resource.Experiment);
        api.MapDelete("/experiments/permissions/delete", DeleteExperimentPermission).Requires(Permission.Manage, Resource.Experiment);
        api.MapPost("/registered-models/permissions/create", CreateRegisteredModelPermission).Requires(Permission.Manage, Resource.RegisteredModel);
        api.MapGet("/registered-models/permissions/get", GetRegisteredModelPermission).Requires(Permission.Manage, Resource.RegisteredModel);
        api.MapPatch("/registered-models/permissions/update", UpdateRegisteredModelPermission).Requires(Permission.Manage, Resource.RegisteredModel);
        api.MapDelete("/registered-models/permissions/delete", DeleteRegisteredModelPermission).Requires(Permission.Manage, Resource.RegisteredModel);
        return api;
    }

    /// <summary>MLflow checks the permission's name before it looks anything up.</summary>
    private static Permission RequiredPermission(RequestArgs args) => Permission.Parse(args.RequiredString("permission"));

    /// <summary>
    /// The named user, so that an unknown user is MLflow's "User … not found" (404) rather than a missing grant's.
    /// </summary>
    private static async Task<string> RequiredUserAsync(RequestArgs args, AuthStore store, CancellationToken ct) =>
        (await store.RequireUserAsync(args.RequiredString("username"), ct)).UserName;

    public static async Task<IResult> CreateExperimentPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var permission = RequiredPermission(args);
        var granted = await store.CreateExperimentPermissionAsync(args.RequiredString("experiment_id"), args.RequiredString("username"), permission, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("experiment_permission");
            w.WriteExperimentPermission(granted);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> GetExperimentPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var experimentId = args.RequiredString("experiment_id");
        var userName = await RequiredUserAsync(args, store, ct);
        var granted = await store.GetExperimentPermissionAsync(experimentId, userName, ct)
                      ?? throw MlflowException.NotFound(
                          $"Experiment permission with experiment_id={Echo.Truncate(experimentId)} and username={Echo.Truncate(userName)} not found");
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("experiment_permission");
            w.WriteExperimentPermission(granted);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> UpdateExperimentPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var permission = RequiredPermission(args);
        var experimentId = args.RequiredString("experiment_id");
        await store.UpdateExperimentPermissionAsync(experimentId, await RequiredUserAsync(args, store, ct), permission, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteExperimentPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var experimentId = args.RequiredString("experiment_id");
        await store.DeleteExperimentPermissionAsync(experimentId, await RequiredUserAsync(args, store, ct), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> CreateRegisteredModelPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var permission = RequiredPermission(args);
        var granted = await store.CreateRegisteredModelPermissionAsync(args.RequiredString("name"), args.RequiredString("username"), permission, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("registered_model_permission");
            w.WriteRegisteredModelPermission(granted);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> GetRegisteredModelPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var name = args.RequiredString("name");
        var userName = await RequiredUserAsync(args, store, ct);
        var granted = await store.GetRegisteredModelPermissionAsync(name, userName, ct)
                      ?? throw MlflowException.NotFound(
                          $"Registered model permission with name={Echo.Truncate(name)} and username={Echo.Truncate(userName)} not found");
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("registered_model_permission");
            w.WriteRegisteredModelPermission(granted);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> UpdateRegisteredModelPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var permission = RequiredPermission(args);
        var name = args.RequiredString("name");
        await store.UpdateRegisteredModelPermissionAsync(name, await RequiredUserAsync(args, store, ct), permission, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteRegisteredModelPermission(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var name = args.RequiredString("name");
        await store.DeleteRegisteredModelPermissionAsync(name, await RequiredUserAsync(args, store, ct), ct);
        return MlflowJson.Empty();
    }
}
