using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Lifecycle;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>MLflow's experiment RPCs (spec §2.1).</summary>
public static class ExperimentEndpoints
{
    public static RouteGroupBuilder MapExperimentEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/experiments/create", CreateExperiment).RequiresSignIn();
        api.MapGet("/experiments/get", GetExperiment).Requires(Permission.Read, Resource.Experiment);
        api.MapGet("/experiments/get-by-name", GetExperimentByName).Requires(Permission.Read, Resource.ExperimentByName);
        api.MapPost("/experiments/search", SearchExperiments).RequiresSignIn();
        api.MapGet("/experiments/search", SearchExperiments).RequiresSignIn();
        api.MapPost("/experiments/update", UpdateExperiment).Requires(Permission.Edit, Resource.Experiment);
        api.MapPost("/experiments/delete", DeleteExperiment).Requires(Permission.Manage, Resource.Experiment);
        api.MapPost("/experiments/restore", RestoreExperiment).Requires(Permission.Manage, Resource.Experiment);
        api.MapPost("/experiments/set-experiment-tag", SetExperimentTag).Requires(Permission.Edit, Resource.Experiment);
        api.MapPost("/experiments/delete-experiment-tag", DeleteExperimentTag).Requires(Permission.Edit, Resource.Experiment);
        return api;
    }

    public static async Task<IResult> CreateExperiment(RequestArgs args, Caller caller, TrackingStore store, AuthStore auth, CancellationToken ct)
    {
        var name = args.RequiredString("name");
        Validation.ExperimentName(name);
        // Checked as MLflow does, then ignored: Tracker assigns every artifact location itself.
        Validation.ArtifactLocation(args.String("artifact_location"));
        var tags = Parse.KeyValues(args, "tags");
        foreach (var tag in tags) Validation.ExperimentTag(tag.Key, tag.Value);
        var id = await store.CreateExperimentAsync(name, tags, ct);
        await caller.GrantCreatorAsync(auth, id, ct);
        return MlflowJson.Object(w => w.WriteString("experiment_id", id));
    }

    public static async Task<IResult> GetExperiment(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var experiment = await store.RequireExperimentAsync(args.RequiredString("experiment_id"), ct);
        return ExperimentResult(experiment);
    }

    public static async Task<IResult> GetExperimentByName(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var name = args.RequiredString("experiment_name");
        var experiment = await store.GetExperimentByNameAsync(name, ct)
                         ?? throw MlflowException.NotFound($"Could not find experiment with name '{Echo.Truncate(name)}'");
        return ExperimentResult(experiment);
    }

    private static IResult ExperimentResult(Experiment experiment) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("experiment");
        w.WriteExperiment(experiment);
        w.WriteEndObject();
    });

    /// <summary>Only experiments the caller may read, filtered before paging so pages stay full and tokens stay valid.</summary>
    public static async Task<IResult> SearchExperiments(RequestArgs args, Caller caller, PermissionLookup permissions, TrackingStore store, CancellationToken ct)
    {
        var visible = caller.IsAdmin ? null : await permissions.ExperimentReaderAsync(caller.UserName, ct);
        var page = await store.SearchExperimentsAsync(
            Parse.ViewType(args, "view_type"),
            args.Int32("max_results") ?? 1000,
            args.String("filter"),
            args.StringList("order_by"),
            args.String("page_token"),
            ct,
            visible);
        return MlflowJson.Page("experiments", page, (w, experiment) =>
        {
            w.WriteStartObject();
            w.WriteExperiment(experiment);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> UpdateExperiment(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var id = args.RequiredString("experiment_id");
        var newName = args.RequiredString("new_name");
        Validation.ExperimentName(newName);
        await store.RenameExperimentAsync(id, newName, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteExperiment(RequestArgs args, TrackingStore store, LifecycleQueue lifecycle, CancellationToken ct)
    {
        var experimentId = args.RequiredString("experiment_id");
        await store.DeleteExperimentAsync(experimentId, ct);
        await lifecycle.ExperimentDeletedAsync(experimentId, ct); // purged once retention has passed
        return MlflowJson.Empty();
    }

    public static async Task<IResult> RestoreExperiment(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        await store.RestoreExperimentAsync(args.RequiredString("experiment_id"), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SetExperimentTag(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var id = args.RequiredString("experiment_id");
        var key = args.RequiredString("key");
        var value = args.String("value") ?? "";
        Validation.ExperimentTag(key, value);
        await store.SetExperimentTagAsync(id, key, value, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteExperimentTag(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        await store.DeleteExperimentTagAsync(args.RequiredString("experiment_id"), args.RequiredString("key"), ct);
        return MlflowJson.Empty();
    }
}
