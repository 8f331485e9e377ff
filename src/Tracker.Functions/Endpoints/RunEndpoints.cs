using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Lifecycle;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>MLflow's run RPCs (spec §2.2). Every write funnels into the store's log-batch or a run mutation.</summary>
public static class RunEndpoints
{
    public static RouteGroupBuilder MapRunEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/runs/create", CreateRun).Requires(Permission.Edit, Resource.ExperimentOrDefault);
        api.MapPost("/runs/update", UpdateRun).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/delete", DeleteRun).Requires(Permission.Manage, Resource.Run);
        api.MapPost("/runs/restore", RestoreRun).Requires(Permission.Manage, Resource.Run);
        api.MapGet("/runs/get", GetRun).Requires(Permission.Read, Resource.Run);
        api.MapPost("/runs/search", SearchRuns).RequiresSignIn();
        api.MapPost("/runs/log-metric", LogMetric).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/log-parameter", LogParameter).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/set-tag", SetTag).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/delete-tag", DeleteTag).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/log-batch", LogBatch).Requires(Permission.Edit, Resource.Run).WithMetadata(new BodyLimit(Validation.MaxBatchLogRequestBytes, Validation.BatchRequestTooLarge));
        api.MapPost("/runs/log-model", LogModel).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/log-inputs", LogInputs).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/runs/outputs", LogOutputs).Requires(Permission.Edit, Resource.Run);
        return api;
    }

    public static async Task<IResult> CreateRun(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var run = await store.CreateRunAsync(
            args.String("experiment_id"),
            args.String("user_id"),
            args.String("run_name"),
            args.Int64("start_time") ?? 0,
            Parse.KeyValues(args, "tags"),
            ct);
        return RunResult(run);
    }

    public static async Task<IResult> UpdateRun(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var info = await store.UpdateRunAsync(args.RunId(), Parse.RunStatus(args), args.Int64("end_time"), args.String("run_name"), ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("run_info");
            w.WriteRunInfo(info);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> DeleteRun(RequestArgs args, TrackingStore store, LifecycleQueue lifecycle, CancellationToken ct)
    {
        var runId = args.RequiredString("run_id");
        await store.DeleteRunAsync(runId, ct);
        await lifecycle.RunDeletedAsync(runId, ct); // purged once retention has passed
        return MlflowJson.Empty();
    }

    public static async Task<IResult> RestoreRun(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        await store.RestoreRunAsync(args.RequiredString("run_id"), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> GetRun(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var run = await store.GetRunAsync(args.RunId(), ct);
        return RunResult(run);
    }

    private static IResult RunResult(Run run) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("run");
        w.WriteRun(run);
        w.WriteEndObject();
    });

    /// <summary>Only runs of experiments the caller may read: the others are dropped from the search, silently (as MLflow's auth app filters).</summary>
    public static async Task<IResult> SearchRuns(RequestArgs args, Caller caller, PermissionLookup permissions, TrackingStore store, CancellationToken ct)
    {
        var experimentIds = args.StringList("experiment_ids", idList: true);
        if (!caller.IsAdmin)
        {
            var canRead = await permissions.ExperimentReaderAsync(caller.UserName, ct);
            experimentIds = experimentIds.Where(id => RunIds.CanonicalExperimentId(id) is not { } canonical || canRead(canonical)).ToList();
        }
        var page = await store.SearchRunsAsync(
            experimentIds,
            args.String("filter"),
            Parse.ViewType(args, "run_view_type"),
            args.Int32("max_results") ?? TrackingStore.SearchRunsDefaultMaxResults,
            args.StringList("order_by"),
            args.String("page_token"),
            ct);
        return MlflowJson.Page("runs", page, (w, run) =>
        {
            w.WriteStartObject();
            w.WriteRun(run);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> LogMetric(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RunId();
        var metric = Parse.Metric(args);
        var forModels = ModelMetrics(runId, [args], [metric]);
        await store.LogBatchAsync(runId, [metric], [], [], ct);
        if (forModels.Count > 0) await store.LogLoggedModelMetricsAsync(runId, forModels, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogParameter(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RunId();
        var param = new KeyValue(args.RequiredString("key"), args.String("value") ?? "");
        await store.LogBatchAsync(runId, [], [param], [], ct, singleParamCall: true);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SetTag(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RunId();
        var tag = new KeyValue(args.RequiredString("key"), args.String("value") ?? "");
        await store.LogBatchAsync(runId, [], [], [tag], ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteTag(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        await store.DeleteTagAsync(args.RequiredString("run_id"), args.RequiredString("key"), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogBatch(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RequiredString("run_id");
        var metrics = args.Objects("metrics");
        var @params = args.Objects("params");
        var tags = args.Objects("tags");
        // Counts first, as MLflow does, so an oversized batch is refused before its items are read.
        Validation.BatchLimits(metrics.Count, @params.Count, tags.Count);
        var parsedMetrics = metrics.Select(Parse.Metric).ToList();
        var forModels = ModelMetrics(runId, metrics, parsedMetrics);
        await store.LogBatchAsync(
            runId,
            parsedMetrics,
            @params.Select(p => new KeyValue(p.RequiredString("key"), p.String("value") ?? "")).ToList(),
            tags.Select(t => new KeyValue(t.RequiredString("key"), t.String("value") ?? "")).ToList(),
            ct);
        if (forModels.Count > 0) await store.LogLoggedModelMetricsAsync(runId, forModels, ct);
        return MlflowJson.Empty();
    }

    /// <summary>
    /// The metrics that carry a <c>model_id</c> (MLflow 3), also recorded on that logged model after the run's own
    /// write, so logged-models/get answers them as its <c>metrics</c>. A batch without any (the hot path) costs nothing
    /// more; one with them, one write per model. Checked before anything is written.
    /// </summary>
    private static List<(string ModelId, LoggedModelMetric Metric)> ModelMetrics(string runId, IReadOnlyList<RequestArgs> raw, IReadOnlyList<Metric> parsed)
    {
        List<(string, LoggedModelMetric)>? result = null;
        for (var i = 0; i < raw.Count; i++)
        {
            if (raw[i].String("model_id") is not { Length: > 0 } modelId) continue;
            var m = parsed[i];
            (result ??= []).Add((modelId, new LoggedModelMetric(
                m.Key, m.Value, m.Timestamp, m.Step, runId, raw[i].String("dataset_name"), raw[i].String("dataset_digest"))));
        }
        if (result is null) return [];
        TrackingStore.CheckModelMetricTargets(runId, result.Select(r => r.Item1));
        return result;
    }

    public static async Task<IResult> LogModel(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RequiredString("run_id");
        var modelJson = args.RequiredString("model_json");
        JsonObject model;
        try
        {
            model = JsonNode.Parse(modelJson) as JsonObject ?? throw MlflowException.InvalidParameter("Malformed model info. \n model_json must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw MlflowException.InvalidParameter($"Malformed model info. \n {e.Message}");
        }
        var missing = new[] { "artifact_path", "flavors", "utc_time_created", "run_id" }.Where(k => !model.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw MlflowException.InvalidParameter($"Model json is missing mandatory fields: [{string.Join(", ", missing.Select(m => $"'{m}'"))}]");
        await store.LogModelAsync(runId, model, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogInputs(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RequiredString("run_id");
        var datasets = args.Objects("datasets").Select(input =>
        {
            var d = input.Object("dataset") ?? throw MlflowException.MissingParameter(input.Qualify("dataset"));
            return new DatasetInput(
                input.Objects("tags").Select(t => new KeyValue(t.RequiredString("key"), t.RequiredString("value"))).ToList(),
                new Dataset(d.RequiredString("name"), d.RequiredString("digest"), d.RequiredString("source_type"),
                    d.RequiredString("source"), d.String("schema"), d.String("profile")));
        }).ToList();
        var models = args.Objects("models").Select(m => m.RequiredString("model_id")).ToList();
        await store.LogInputsAsync(runId, datasets, models, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogOutputs(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RequiredString("run_id");
        if (!args.Has("models")) throw MlflowException.MissingParameter("models");
        var models = args.Objects("models").Select(m => new ModelOutput(m.RequiredString("model_id"), m.Int64("step") ?? 0)).ToList();
        await store.LogOutputsAsync(runId, models, ct);
        return MlflowJson.Empty();
    }
}
