using System.Text.Json;
using System.Text.Json.Serialization;
using ETag = Azure.ETag;
using RequestFailedException = Azure.RequestFailedException;
using Azure.Data.Tables;
using Tracker.Core.Search;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

/// <summary>
/// MLflow 3 logged models (spec §2.4), in table <c>{prefix}loggedmodels</c>: partition = experiment id, row key = model
/// id, one JSON document per model (info, tags, params and the metrics logged with its <c>model_id</c>). A model id
/// carries its experiment (<see cref="LoggedModelIds"/>), so every model-scoped call is one point read; a search is one
/// range query per experiment, filtered and ordered in memory as runs are. Writes are read-modify-write under the row's
/// ETag, retried on 412, so concurrent writers from any instance lose nothing.
/// </summary>
public sealed partial class TrackingStore
{
    public const int SearchLoggedModelsDefaultMaxResults = 50;
    public const int SearchLoggedModelsMaxResults = 50000;
    private static readonly char[] BadModelNameChars = ['/', ':', '.', '%', '"', '\''];

    public Task<LoggedModel> CreateLoggedModelAsync(
        string experimentId, string? name, string? modelType, string? sourceRunId,
        IReadOnlyList<KeyValue> @params, IReadOnlyList<KeyValue> tags, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (name is not null && (name.Length == 0 || name.IndexOfAny(BadModelNameChars) >= 0))
                throw MlflowException.InvalidParameter(
                    $"Invalid model name ('{Echo.Truncate(name)}') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%', '\"', \"'\")");
            foreach (var param in @params) Validation.Param(param.Key, param.Value);
            foreach (var tag in tags) Validation.RunTag(tag.Key, tag.Value);
            Validation.NoDuplicateParamKeys(@params);
            var canonical = RunIds.CanonicalExperimentId(experimentId) ?? throw ExperimentNotFound(Echo.Truncate(experimentId));
            var (experiment, _) = await ReadExperimentAsync(canonical, ct) ?? throw ExperimentNotFound(canonical);
            RequireActive(experiment);
            var now = Now();
            while (true)
            {
                var doc = new LoggedModelDocument
                {
                    ModelId = LoggedModelIds.New(canonical), ExperimentId = canonical, Name = name ?? RunNames.New(),
                    ModelType = modelType, SourceRunId = string.IsNullOrEmpty(sourceRunId) ? null : sourceRunId,
                    CreationTimestamp = now, LastUpdatedTimestamp = now, Params = [.. @params],
                };
                foreach (var tag in tags) doc.SetTag(tag.Key, tag.Value);
                try
                {
                    await StorageErrors.Call(() => _loggedModels.AddEntityAsync(LoggedModelEntity(doc), ct));
                    return doc.ToLoggedModel();
                }
                catch (RequestFailedException e) when (e.Status == StorageErrors.Conflict)
                {
                    // 96 random bits collided: draw another id.
                }
            }
        }, ct);

    /// <summary>The logged model, or null when it does not exist or was deleted.</summary>
    public Task<LoggedModel?> GetLoggedModelAsync(string modelId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => (await ReadLoggedModelAsync(modelId, ct))?.Doc is { Lifecycle: LifecycleStage.Active } doc ? doc.ToLoggedModel() : null, ct);

    /// <summary>MLflow's finalize_logged_model: sets the status (READY or UPLOAD_FAILED) and the update time.</summary>
    public Task<LoggedModel> FinalizeLoggedModelAsync(string modelId, string status, CancellationToken ct = default) =>
        MutateLoggedModelAsync(modelId, doc =>
        {
            doc.Status = status;
            doc.LastUpdatedTimestamp = Now();
            return true;
        }, ct);

    /// <summary>Soft delete, as MLflow's: later reads answer 404.</summary>
    public Task DeleteLoggedModelAsync(string modelId, CancellationToken ct = default) =>
        MutateLoggedModelAsync(modelId, doc =>
        {
            doc.Lifecycle = LifecycleStage.Deleted;
            doc.LastUpdatedTimestamp = Now();
            return true;
        }, ct);

    /// <summary>Upserts tags (MLflow's set_logged_model_tags); 404 when the model does not exist.</summary>
    public Task SetLoggedModelTagsAsync(string modelId, IReadOnlyList<KeyValue> tags, CancellationToken ct = default)
    {
        foreach (var tag in tags) Validation.RunTag(tag.Key, tag.Value);
        return MutateLoggedModelAsync(modelId, doc =>
        {
            foreach (var tag in tags) doc.SetTag(tag.Key, tag.Value);
            return tags.Count > 0;
        }, ct);
    }

    /// <summary>A tag the model does not have is a 404, as in MLflow.</summary>
    public Task DeleteLoggedModelTagAsync(string modelId, string key, CancellationToken ct = default) =>
        MutateLoggedModelAsync(modelId, doc =>
        {
            if (doc.Tags.RemoveAll(t => t.Key == key) == 0)
                throw MlflowException.NotFound($"No tag with key '{Echo.Truncate(key)}' found for model with ID '{modelId}'.");
            return true;
        }, ct);

    /// <summary>
    /// MLflow's log_logged_model_params (the client sends batches of 100): a key logged again with the same value is
    /// a no-op, so a retried request succeeds; with another value it is refused, as run params are.
    /// </summary>
    public Task LogLoggedModelParamsAsync(string modelId, IReadOnlyList<KeyValue> @params, CancellationToken ct = default)
    {
        foreach (var param in @params) Validation.Param(param.Key, param.Value);
        Validation.NoDuplicateParamKeys(@params);
        return MutateLoggedModelAsync(modelId, doc =>
        {
            var changed = false;
            foreach (var param in @params)
            {
                var existing = doc.Params.Find(p => p.Key == param.Key);
                if (existing is null)
                {
                    doc.Params.Add(param);
                    changed = true;
                }
                else if (existing.Value != param.Value)
                    throw MlflowException.InvalidParameter(
                        $"Changing param values is not allowed. Param with key='{Echo.Truncate(param.Key)}' was already logged with value='{Echo.Truncate(existing.Value)}' for model with ID '{modelId}'. Attempted logging new value '{Echo.Truncate(param.Value)}'.");
            }
            return changed;
        }, ct);
    }

    /// <summary>
    /// Records metrics a run logged with a <c>model_id</c> on that model, after the run's own write. Only a model of
    /// the run's own experiment takes them (the run's EDIT permission is what was checked). An exact repeat (a retried
    /// log-batch) is one metric, as it is in a run's history.
    /// </summary>
    public Task LogLoggedModelMetricsAsync(string runId, IReadOnlyList<(string ModelId, LoggedModelMetric Metric)> metrics, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            CheckModelMetricTargets(runId, metrics.Select(m => m.ModelId));
            foreach (var group in metrics.GroupBy(m => m.ModelId, StringComparer.Ordinal))
            {
                await MutateLoggedModelAsync(group.Key, doc =>
                {
                    var added = group.Select(m => m.Metric).Where(m => !doc.Metrics.Contains(m)).Distinct().ToList();
                    doc.Metrics.AddRange(added);
                    return added.Count > 0;
                }, ct);
            }
        }, ct);

    /// <summary>
    /// What can be told of a metric's <c>model_id</c> without storage (the id carries its experiment): an id Tracker
    /// never issued is a 404, a model of another experiment than the run's a 400. Callers check before writing.
    /// </summary>
    public static void CheckModelMetricTargets(string runId, IEnumerable<string> modelIds)
    {
        var runExperiment = RunIds.ExperimentOf(runId);
        foreach (var modelId in modelIds)
        {
            if (LoggedModelIds.ExperimentOf(modelId) is not { } modelExperiment) throw LoggedModelIds.NotFound(modelId);
            if (runExperiment is not null && modelExperiment != runExperiment)
                throw MlflowException.InvalidParameter(
                    $"Logged model with ID '{modelId}' belongs to another experiment than run '{runId}'; a run logs metrics only for models of its own experiment.");
        }
    }

    /// <summary>
    /// MLflow's search_logged_models: one range query per experiment, then filter (attributes, metrics, params, tags),
    /// order (structured order_by, default creation time descending) and page in memory.
    /// </summary>
    public Task<Page<LoggedModel>> SearchLoggedModelsAsync(
        IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelDataset> datasets,
        IReadOnlyList<LoggedModelOrderBy> orderBy, int maxResults, string? pageToken, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (maxResults is < 1 or > SearchLoggedModelsMaxResults)
                throw MlflowException.InvalidParameter(
                    $"Invalid value {maxResults} for parameter 'max_results' supplied. It must be at most {SearchLoggedModelsMaxResults} and at least 1.");
            if (experimentIds.Count == 0) throw MlflowException.InvalidParameter("Missing value for required parameter 'experiment_ids'.");
            if (experimentIds.Count > SearchRunsMaxExperiments)
                throw MlflowException.InvalidParameter(
                    $"A search can cover at most {SearchRunsMaxExperiments} experiments. Got {experimentIds.Count} experiment ids.");
            var canonicalIds = experimentIds.Select(id => RunIds.CanonicalExperimentId(id)
                ?? throw MlflowException.InvalidParameter($"Invalid experiment id '{Echo.Truncate(id)}': experiment ids are integers.")).Distinct().ToList();
            var parsed = LoggedModelFilter.Parse(filter, datasets);
            var ordering = new LoggedModelOrdering(orderBy);
            var query = PageQuery.Of("logged-models/search", canonicalIds, [filter ?? ""],
                datasets.Select(d => $"{d.Name}\n{d.Digest}"), orderBy.Select(o => $"{o.FieldName}\n{o.Ascending}\n{o.DatasetName}\n{o.DatasetDigest}"));
            var offset = (await ReadPageTokenAsync(_keys, pageToken, query, ct)).Offset;
            await EnsureInitializedAsync(ct);

            var matches = new List<LoggedModelDocument>();
            foreach (var id in canonicalIds)
            {
                var rows = _loggedModels.QueryAsync<TableEntity>(Filter($"PartitionKey eq {id} and Lifecycle eq {LifecycleStage.Active}"), cancellationToken: ct);
                await foreach (var row in rows.WithTransientErrors())
                {
                    var doc = ReadLoggedModel(row);
                    if (parsed.Matches(doc)) matches.Add(doc);
                }
            }
            matches.Sort(ordering);
            var page = matches.Skip(offset).Take(maxResults).Select(d => d.ToLoggedModel()).ToList();
            return new Page<LoggedModel>(page, await NextPageTokenAsync(_keys, offset, maxResults, matches.Count, query, ct));
        }, ct);

    private async Task<(LoggedModelDocument Doc, ETag ETag)?> ReadLoggedModelAsync(string modelId, CancellationToken ct)
    {
        if (LoggedModelIds.ExperimentOf(modelId) is not { } experimentId) return null;
        await EnsureInitializedAsync(ct);
        var row = await StorageErrors.Call(() => _loggedModels.GetEntityIfExistsAsync<TableEntity>(experimentId, modelId, cancellationToken: ct));
        return row.HasValue ? (ReadLoggedModel(row.Value!), row.Value!.ETag) : null;
    }

    /// <summary>Read-modify-write of an active model's row under its ETag; 404 for a missing or deleted model.</summary>
    private Task<LoggedModel> MutateLoggedModelAsync(string modelId, Func<LoggedModelDocument, bool> apply, CancellationToken ct) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            return await OptimisticAsync($"logged model {modelId}", MaxConflictRetries, async _ =>
            {
                var (doc, etag) = await ReadLoggedModelAsync(modelId, ct) ?? throw LoggedModelIds.NotFound(modelId);
                if (doc.Lifecycle != LifecycleStage.Active) throw LoggedModelIds.NotFound(modelId);
                if (!apply(doc)) return doc.ToLoggedModel();
                await StorageErrors.Call(() => _loggedModels.UpdateEntityAsync(LoggedModelEntity(doc), etag, TableUpdateMode.Replace, ct));
                return doc.ToLoggedModel();
            }, ct);
        }, ct);

    private static TableEntity LoggedModelEntity(LoggedModelDocument doc)
    {
        var entity = new TableEntity(doc.ExperimentId, doc.ModelId) { ["Lifecycle"] = doc.Lifecycle };
        DocumentColumns.Write(entity, JsonSerializer.SerializeToUtf8Bytes(doc, LoggedModelJson.Default.LoggedModelDocument));
        return entity;
    }

    private static LoggedModelDocument ReadLoggedModel(TableEntity entity) =>
        Deserialize(DocumentColumns.Read(entity), LoggedModelJson.Default.LoggedModelDocument);
}

/// <summary>One logged model's stored document.</summary>
internal sealed class LoggedModelDocument : ISearchableLoggedModel
{
    public required string ModelId { get; set; }
    public required string ExperimentId { get; set; }
    public required string Name { get; set; }
    public string? ModelType { get; set; }
    public string? SourceRunId { get; set; }
    public string Status { get; set; } = LoggedModelStatus.Pending;
    public string? StatusMessage { get; set; }
    public long CreationTimestamp { get; set; }
    public long LastUpdatedTimestamp { get; set; }
    public string Lifecycle { get; set; } = LifecycleStage.Active;
    public List<KeyValue> Tags { get; set; } = [];
    public List<KeyValue> Params { get; set; } = [];
    public List<LoggedModelMetric> Metrics { get; set; } = [];

    public void SetTag(string key, string value)
    {
        var index = Tags.FindIndex(t => t.Key == key);
        if (index >= 0) Tags[index] = new KeyValue(key, value);
        else Tags.Add(new KeyValue(key, value));
    }

    IReadOnlyList<KeyValue> ISearchableLoggedModel.Tags => Tags;
    IReadOnlyList<KeyValue> ISearchableLoggedModel.Params => Params;
    IReadOnlyList<LoggedModelMetric> ISearchableLoggedModel.Metrics => Metrics;

    public LoggedModel ToLoggedModel() => new(
        ModelId, ExperimentId, Name, ModelType, SourceRunId, Status, StatusMessage, CreationTimestamp, LastUpdatedTimestamp,
        LoggedModelIds.ArtifactUri(ExperimentId, ModelId), Lifecycle, [.. Tags], [.. Params], [.. Metrics]);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(LoggedModelDocument))]
internal sealed partial class LoggedModelJson : JsonSerializerContext;
