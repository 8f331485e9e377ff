using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// The four routes MLflow's server registers for its web UI under <c>/ajax-api/2.0/mlflow</c> only (Flask routes in
/// mlflow/server/__init__.py, not proto RPCs), with the checks and messages of their handlers in handlers.py.
/// </summary>
public static class AjaxOnlyEndpoints
{
    public const int MaxBulkRunIds = 100;
    public const int MaxSearchDatasetExperiments = 20;
    public const int MaxDatasetSummaries = 1000;
    public const int MaxUploadBytes = 10 * 1024 * 1024;

    public static RouteGroupBuilder MapAjaxOnlyEndpoints(this RouteGroupBuilder ajax)
    {
        ajax.MapGet("/metrics/get-history-bulk", GetMetricHistoryBulk).Requires(Permission.Read, Resource.Runs("run_id"));
        ajax.MapPost("/experiments/search-datasets", SearchDatasets).Requires(Permission.Read, Resource.Experiments("experiment_ids"));
        ajax.MapPost("/runs/create-promptlab-run", CreatePromptlabRun).Requires(Permission.Edit, Resource.Experiment);
        ajax.MapPost("/upload-artifact", UploadArtifact).Requires(Permission.Edit, Resource.RunInQuery);
        return ajax;
    }

    /// <summary>
    /// get_metric_history_bulk_handler: one metric of up to 100 runs, ordered by run id, then as get-history orders a
    /// run's points; at most <c>max_results</c> (≤ 25,000) points in all.
    /// </summary>
    public static async Task<IResult> GetMetricHistoryBulk(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
                var runIds = args.StringList("run_id", idList: true);
        if (runIds.Count == 0)
            throw MlflowException.InvalidParameter("GetMetricHistoryBulk request must specify at least one run_id.");
        if (runIds.Count > MaxBulkRunIds)
            throw MlflowException.InvalidParameter(
                $"GetMetricHistoryBulk request cannot specify more than {MaxBulkRunIds} run_ids. Received {runIds.Count} run_ids.");
        var key = args.String("metric_key")
                  ?? throw MlflowException.InvalidParameter("GetMetricHistoryBulk request must specify a metric_key.");
        var maxResults = Math.Min(args.Int32("max_results") ?? TrackingStore.MaxHistoryPageSize, TrackingStore.MaxHistoryPageSize);
        if (maxResults < 0)
            throw MlflowException.InvalidParameter($"Invalid value {maxResults} for parameter 'max_results' supplied. It must not be negative.");

        var metrics = new List<RunMetric>();
        foreach (var runId in runIds.Distinct().Order(StringComparer.Ordinal))
        {
            var budget = maxResults - metrics.Count;
            if (budget == 0) break;
            var page = await store.GetMetricHistoryAsync(runId, key, budget, pageToken: null, ct);
            metrics.AddRange(page.Items.Select(m => new RunMetric(runId, m)));
        }
        return MlflowJson.Object(w =>
        {
            w.WriteStartArray("metrics");
            foreach (var m in metrics) w.WriteMetric(m.Metric, m.RunId);
            w.WriteEndArray();
        });
    }

    /// <summary>
    /// search_datasets_handler over SqlAlchemyStore._search_datasets: the distinct (experiment, dataset name, digest,
    /// context tag) of the runs' dataset inputs, runs of every lifecycle stage, at most 1000.
    /// </summary>
    public static async Task<IResult> SearchDatasets(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
                var experimentIds = args.StringList("experiment_ids");
        if (experimentIds.Count == 0)
            throw MlflowException.InvalidParameter("SearchDatasets request must specify at least one experiment_id.");
        if (experimentIds.Count > MaxSearchDatasetExperiments)
            throw MlflowException.InvalidParameter(
                $"SearchDatasets request cannot specify more than {MaxSearchDatasetExperiments} experiment_ids. Received {experimentIds.Count} experiment_ids.");

        var summaries = new List<DatasetSummary>();
        var seen = new HashSet<DatasetSummary>();
        string? token = null;
        do
        {
            var page = await store.SearchRunsAsync(experimentIds, null, ViewType.All, TrackingStore.SearchRunsMaxResults, [], token, ct);
            foreach (var run in page.Items)
                foreach (var input in run.DatasetInputs)
                {
                    var summary = new DatasetSummary(run.Info.ExperimentId, input.Dataset.Name, input.Dataset.Digest,
                        input.Tags.LastOrDefault(t => t.Key == MlflowTags.DatasetContext)?.Value);
                    if (summaries.Count < MaxDatasetSummaries && seen.Add(summary)) summaries.Add(summary);
                }
            token = page.NextPageToken;
        } while (token is not null && summaries.Count < MaxDatasetSummaries);

        return MlflowJson.Object(w =>
        {
            if (summaries.Count == 0) return;
            w.WriteStartArray("dataset_summaries");
            foreach (var s in summaries)
            {
                w.WriteStartObject();
                w.WriteString("experiment_id", s.ExperimentId);
                w.WriteString("name", s.Name);
                w.WriteString("digest", s.Digest);
                if (s.Context is not null) w.WriteString("context", s.Context);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    private sealed record DatasetSummary(string ExperimentId, string Name, string Digest, string? Context);

    private const string LoggedArtifactsTag = "mlflow.loggedArtifacts";
    private const string RunSourceTypeTag = "mlflow.runSourceType";
    private const string EvalResultsFile = "eval_results_table.json";

    /// <summary>
    /// create_promptlab_run_handler (mlflow/server/prompt_lab_utils.py): a run holding one prompt-engineering
    /// evaluation, its model parameters, route and template as params, the evaluation table as an artifact, and
    /// FINISHED (FAILED if logging failed, as in MLflow). Tracker does not write the promptlab pyfunc model files.
    /// </summary>
    public static async Task<IResult> CreatePromptlabRun(RequestArgs args, TrackingStore store, ArtifactStore artifacts, TimeProvider time, CancellationToken ct)
    {
        var experimentId = Required(args, "experiment_id");
        var runName = args.String("run_name");
        var tags = Parse.KeyValues(args, "tags");
        var promptTemplate = Required(args, "prompt_template");
        var promptParameters = Parameters(args, "prompt_parameters");
        if (promptParameters.Count == 0) throw MustSpecify("prompt_parameters");
        var modelRoute = Required(args, "model_route");
        var modelParameters = Parameters(args, "model_parameters");
        var modelInput = Required(args, "model_input");
        var modelOutput = args.String("model_output");
        var modelOutputParameters = Parameters(args, "model_output_parameters");
        Required(args, "mlflow_version");
        var userId = args.String("user_id") ?? "unknown";
        var startTime = args.Int64("start_time") ?? time.GetUtcNow().ToUnixTimeMilliseconds();

        var run = await store.CreateRunAsync(experimentId, userId, runName, startTime, tags, ct);
        var runId = run.Info.RunId;
        var status = "FINISHED";
        try
        {
            await store.LogBatchAsync(runId, [],
                [.. modelParameters, new KeyValue("model_route", modelRoute), new KeyValue("prompt_template", promptTemplate)],
                [
                    new KeyValue(LoggedArtifactsTag, $$"""[{"path": "{{EvalResultsFile}}", "type": "table"}]"""),
                    new KeyValue(RunSourceTypeTag, "PROMPT_ENGINEERING"),
                ], ct);
            var table = EvalResultsTable(promptParameters, modelInput, modelOutputParameters, modelOutput);
            await using var content = new MemoryStream(table);
            await artifacts.UploadAsync(ArtifactLocation.ForRun(runId, EvalResultsFile, allowRoot: false), content, content.Length, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            status = "FAILED";
        }
        await store.UpdateRunAsync(runId, status, time.GetUtcNow().ToUnixTimeMilliseconds(), runName, ct);
        var finished = await store.GetRunAsync(runId, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("run");
            w.WriteRun(finished);
            w.WriteEndObject();
        });
    }

    private static MlflowException MustSpecify(string field) =>
        MlflowException.InvalidParameter($"CreatePromptlabRun request must specify {field}.");

    /// <summary>MLflow's assert_arg_exists: absent, null and "" are all missing.</summary>
    private static string Required(RequestArgs args, string field) =>
        args.String(field) is { Length: > 0 } value ? value : throw MustSpecify(field);

    /// <summary>Param(key, str(value)) for each <c>{key, value}</c>: the UI may send numbers as values.</summary>
    private static List<KeyValue> Parameters(RequestArgs args, string field) =>
        args.Objects(field).Select(p => new KeyValue(p.RequiredString("key"), p.Raw("value") switch
        {
            null => "",
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { } other => other.GetRawText(),
        })).ToList();

    /// <summary>prompt_lab_utils.create_eval_results_json: one row of the prompt's parameters, prompt, output and output parameters.</summary>
    private static byte[] EvalResultsTable(List<KeyValue> promptParameters, string modelInput, List<KeyValue> outputParameters, string? modelOutput)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("columns");
            foreach (var p in promptParameters) w.WriteStringValue(p.Key);
            w.WriteStringValue("prompt");
            w.WriteStringValue("output");
            foreach (var p in outputParameters) w.WriteStringValue(p.Key);
            w.WriteEndArray();
            w.WriteStartArray("data");
            w.WriteStartArray();
            foreach (var p in promptParameters) w.WriteStringValue(p.Value);
            w.WriteStringValue(modelInput);
            if (modelOutput is null) w.WriteNullValue();
            else w.WriteStringValue(modelOutput);
            foreach (var p in outputParameters) w.WriteStringValue(p.Value);
            w.WriteEndArray();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// upload_artifact_handler: the raw body (at most 10 MB) becomes the run's artifact at <c>path</c>, streamed into
    /// Blob Storage. Unlike MLflow, the body must not have a type a cross-site form can send (text/plain, form
    /// encodings) or none at all: such a POST needs no CORS preflight, so any web page could write into a run
    /// (security baseline §1.5). The UI's uploads and <c>application/octet-stream</c> are unaffected.
    /// </summary>
    public static async Task<IResult> UploadArtifact(HttpContext context, ArtifactStore artifacts, CancellationToken ct)
    {
        var request = context.Request;
        // Read like every other request, so a repeated run_uuid or path is refused rather than comma-joined.
        var args = RequestArgs.FromQuery(request);
        var runId = args.String("run_uuid") ?? "";
        if (runId.Length == 0) throw MlflowException.InvalidParameter("Request must specify run_uuid.");
        var path = args.String("path") ?? "";
        if (path.Length == 0) throw MlflowException.InvalidParameter("Request must specify path.");
        var at = ArtifactLocation.ForRun(runId, path, allowRoot: false);
        if (request.ContentLength > MaxUploadBytes)
            throw MlflowException.InvalidParameter("Artifact size is too large. Max size is 10MB.");
        if (request.ContentLength == 0 || (request.ContentLength is null && await IsEmptyAsync(request, ct)))
            throw MlflowException.InvalidParameter("Request must specify data.");
        if (CouldBeCrossSite(request))
            throw MlflowException.InvalidParameter(
                $"Bad Request. Content-Type must be set and must not be a form or text type, got '{Echo.Truncate(request.ContentType)}'; use application/octet-stream.");
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxUploadBytes;
        await artifacts.UploadAsync(at, request.Body, request.ContentLength, ct);
        return MlflowJson.Empty();
    }

    private static async Task<bool> IsEmptyAsync(HttpRequest request, CancellationToken ct)
    {
        var read = await request.BodyReader.ReadAsync(ct);
        var empty = read.Buffer.IsEmpty && read.IsCompleted;
        request.BodyReader.AdvanceTo(read.Buffer.Start); // only looked: the upload reads it all
        return empty;
    }

    /// <summary>
    /// A body a cross-site page can send without a CORS preflight (security baseline §1.5): a form or text type, or no
    /// type from a browser. MLflow's own callers (python requests with <c>data=</c>) send no Content-Type and no
    /// <c>Origin</c>; browsers send <c>Origin</c> with every cross-origin POST, so only those are refused untyped.
    /// </summary>
    private static bool CouldBeCrossSite(HttpRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.ContentType)) return request.Headers.Origin.Count > 0;
        var mediaType = request.ContentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase) ||
               mediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) ||
               mediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase);
    }
}
