using System.Text.Json;
using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Auth;
using Tracker.Core.Search;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow 3's logged models (spec §2.4 #27–35), what <c>mlflow.&lt;flavor&gt;.log_model</c> of a 3.x client creates,
/// uploads under and finalizes. Paths and verbs are MLflow's (<c>mlflow/protos/service.proto</c>); permissions are the
/// model's experiment's, as MLflow's auth app checks them (read / update / delete of the experiment).
/// </summary>
public static class LoggedModelEndpoints
{
    public static RouteGroupBuilder MapLoggedModelEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/logged-models", CreateLoggedModel).Requires(Permission.Edit, Resource.Experiment);
        api.MapPost("/logged-models/search", SearchLoggedModels).RequiresSignIn();
        api.MapGet("/logged-models/{model_id}", GetLoggedModel).Requires(Permission.Read, Resource.LoggedModel);
        api.MapPatch("/logged-models/{model_id}", FinalizeLoggedModel).Requires(Permission.Edit, Resource.LoggedModel);
        api.MapDelete("/logged-models/{model_id}", DeleteLoggedModel).Requires(Permission.Manage, Resource.LoggedModel);
        api.MapPatch("/logged-models/{model_id}/tags", SetLoggedModelTags).Requires(Permission.Edit, Resource.LoggedModel);
        api.MapDelete("/logged-models/{model_id}/tags/{tag_key}", DeleteLoggedModelTag).Requires(Permission.Edit, Resource.LoggedModel);
        api.MapPost("/logged-models/{model_id}/params", LogLoggedModelParams).Requires(Permission.Edit, Resource.LoggedModel);
        api.MapGet("/logged-models/{model_id}/artifacts/directories", ListLoggedModelArtifacts).Requires(Permission.Read, Resource.LoggedModel);
        return api;
    }

    public static async Task<IResult> CreateLoggedModel(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var model = await store.CreateLoggedModelAsync(
            args.RequiredString("experiment_id"),
            args.String("name"),
            args.String("model_type"),
            args.String("source_run_id"),
            Parse.KeyValues(args, "params"),
            Parse.KeyValues(args, "tags"),
            ct);
        return ModelResult(model);
    }

    public static async Task<IResult> GetLoggedModel(string model_id, TrackingStore store, CancellationToken ct) =>
        ModelResult(await store.GetLoggedModelAsync(model_id, ct) ?? throw LoggedModelIds.NotFound(model_id));

    /// <summary>The client sends the status as an enum name; the proto's numbers are taken too.</summary>
    public static async Task<IResult> FinalizeLoggedModel(string model_id, RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var status = args.String("status") switch
        {
            null or "" => throw MlflowException.MissingParameter("status"),
            LoggedModelStatus.Ready or "2" => LoggedModelStatus.Ready,
            LoggedModelStatus.UploadFailed or "3" => LoggedModelStatus.UploadFailed,
            LoggedModelStatus.Pending or "1" => LoggedModelStatus.Pending,
            var other => throw MlflowException.InvalidParameter(
                $"Invalid value \"{Echo.Truncate(other)}\" for parameter 'status' supplied. Valid values are {LoggedModelStatus.Pending}, {LoggedModelStatus.Ready}, {LoggedModelStatus.UploadFailed}."),
        };
        return ModelResult(await store.FinalizeLoggedModelAsync(model_id, status, ct));
    }

    public static async Task<IResult> DeleteLoggedModel(string model_id, TrackingStore store, CancellationToken ct)
    {
        await store.DeleteLoggedModelAsync(model_id, ct);
        return MlflowJson.Empty();
    }

    /// <summary>The proto declares <c>model</c> in the answer, but MLflow's server answers <c>{}</c> (spec #32).</summary>
    public static async Task<IResult> SetLoggedModelTags(string model_id, RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        await store.SetLoggedModelTagsAsync(model_id, Parse.KeyValues(args, "tags"), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteLoggedModelTag(string model_id, string tag_key, TrackingStore store, CancellationToken ct)
    {
        await store.DeleteLoggedModelTagAsync(model_id, tag_key, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogLoggedModelParams(string model_id, RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        await store.LogLoggedModelParamsAsync(model_id, Parse.KeyValues(args, "params"), ct);
        return MlflowJson.Empty();
    }

    /// <summary>Only models of experiments the caller may read: the others are dropped, as runs/search does.</summary>
    public static async Task<IResult> SearchLoggedModels(RequestArgs args, Caller caller, PermissionLookup permissions, TrackingStore store, CancellationToken ct)
    {
        var experimentIds = args.StringList("experiment_ids", idList: true);
        if (experimentIds.Count == 0) throw MlflowException.MissingParameter("experiment_ids");
        if (!caller.IsAdmin)
        {
            var canRead = await permissions.ExperimentReaderAsync(caller.UserName, ct);
            experimentIds = experimentIds.Where(id => RunIds.CanonicalExperimentId(id) is not { } canonical || canRead(canonical)).ToList();
            if (experimentIds.Count == 0) return MlflowJson.Object(_ => { });
        }
        var datasets = args.Objects("datasets").Select(d => new LoggedModelDataset(d.RequiredString("dataset_name"), d.String("dataset_digest"))).ToList();
        var orderBy = args.Objects("order_by").Select(o => new LoggedModelOrderBy(
            o.RequiredString("field_name"), o.Bool("ascending") ?? true, o.String("dataset_name"), o.String("dataset_digest"))).ToList();
        var page = await store.SearchLoggedModelsAsync(
            experimentIds, args.String("filter"), datasets, orderBy,
            args.Int32("max_results") ?? TrackingStore.SearchLoggedModelsDefaultMaxResults, args.String("page_token"), ct);
        return MlflowJson.Page("models", page, (w, model) =>
        {
            w.WriteStartObject();
            w.WriteLoggedModel(model);
            w.WriteEndObject();
        });
    }

    /// <summary>Spec #34 (the web UI's file browser): paths relative to the model's artifact root, plus that root.</summary>
    public static async Task<IResult> ListLoggedModelArtifacts(string model_id, RequestArgs args, ArtifactStore artifacts, CancellationToken ct)
    {
        var directory = ArtifactLocation.ForModel(model_id, args.String("artifact_directory_path"), allowRoot: true);
        var files = await artifacts.ListAsync(directory, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteString("root_uri", LoggedModelIds.ArtifactUri(directory.ExperimentId, model_id));
            w.WriteFiles(files, prefix: directory.Path.Length == 0 ? "" : directory.Path + "/");
        });
    }

    private static IResult ModelResult(LoggedModel model) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("model");
        w.WriteLoggedModel(model);
        w.WriteEndObject();
    });
}
