using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Page = Tracker.Core.Tracking.Page<Tracker.Core.Tracking.Experiment>;
using Azure.Data.Tables;
using Tracker.Core.Search;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

public sealed partial class TrackingStore
{
    public const string DefaultExperimentId = "0";
    private const string DefaultExperimentName = "Default";
    private const string ExperimentPartition = "e";
    private const string CounterRow = "counter";
    private const int SearchMaxResults = 50000;

    private const string ExperimentRowPrefix = "e:";

    private static string ExperimentRow(string id) => ExperimentRowPrefix + long.Parse(id, CultureInfo.InvariantCulture).ToString("D19", CultureInfo.InvariantCulture);

    private static string NameRow(string name) => "n:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    private async Task CreateDefaultExperimentAsync()
    {
        var now = Now();
        var doc = new ExperimentDocument { ExperimentId = DefaultExperimentId, Name = DefaultExperimentName, CreationTime = now, LastUpdateTime = now };
        try
        {
            await _experiments.SubmitTransactionAsync(
            [
                new(TableTransactionActionType.Add, new TableEntity(ExperimentPartition, CounterRow) { ["Next"] = 1L }),
                new(TableTransactionActionType.Add, NameEntity(doc.Name, doc.ExperimentId)),
                new(TableTransactionActionType.Add, ExperimentEntity(doc)),
            ]);
        }
        catch (TableTransactionFailedException e) when (e.Status == StorageErrors.Conflict)
        {
            // Another instance (or an earlier start) already created it.
        }
    }

    private static TableEntity NameEntity(string name, string id) =>
        new(ExperimentPartition, NameRow(name)) { ["ExperimentId"] = id };

    private static TableEntity ExperimentEntity(ExperimentDocument doc)
    {
        var entity = new TableEntity(ExperimentPartition, ExperimentRow(doc.ExperimentId)) { ["Lifecycle"] = doc.Lifecycle };
        DocumentColumns.Write(entity, JsonSerializer.SerializeToUtf8Bytes(doc, StorageJson.Default.ExperimentDocument));
        return entity;
    }

    private static ExperimentDocument ReadExperiment(TableEntity entity) =>
        Deserialize(DocumentColumns.Read(entity), StorageJson.Default.ExperimentDocument);

    public Task<string> CreateExperimentAsync(string name, IReadOnlyList<KeyValue> tags, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            return await OptimisticAsync("the experiments table", MaxConflictRetries, async _ =>
            {
                var counter = await StorageErrors.Call(() => _experiments.GetEntityAsync<TableEntity>(ExperimentPartition, CounterRow, cancellationToken: ct));
                var id = counter.Value.GetInt64("Next")!.Value;
                var now = Now();
                var doc = new ExperimentDocument
                {
                    ExperimentId = id.ToString(CultureInfo.InvariantCulture), Name = name, CreationTime = now, LastUpdateTime = now,
                    Tags = Dedupe(tags),
                };
                counter.Value["Next"] = id + 1;
                try
                {
                    await StorageErrors.Call(() => _experiments.SubmitTransactionAsync(
                    [
                        new(TableTransactionActionType.UpdateMerge, counter.Value, counter.Value.ETag),
                        new(TableTransactionActionType.Add, NameEntity(name, doc.ExperimentId)),
                        new(TableTransactionActionType.Add, ExperimentEntity(doc)),
                    ], ct));
                    return doc.ExperimentId;
                }
                catch (TableTransactionFailedException e) when (e.Status == StorageErrors.Conflict && e.FailedTransactionActionIndex == 1)
                {
                    throw new MlflowException(ErrorCode.ResourceAlreadyExists, $"Experiment(name={name}) already exists.");
                }
            }, ct, conflictIsLostRace: true);
        }, ct);

    /// <summary>Last value of a key wins, as MLflow's upsert-per-tag does.</summary>
    private static List<KeyValue> Dedupe(IReadOnlyList<KeyValue> tags) =>
        tags.GroupBy(t => t.Key).Select(g => g.Last()).ToList();

    public Task<Experiment?> GetExperimentAsync(string experimentId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => (await ReadExperimentAsync(experimentId, ct, onlyReading: true))?.Doc.ToExperiment(), ct);

    /// <param name="onlyReading">
    /// True when nothing is written after: then only Default waits for the tables' set-up, which seeds it. Any other
    /// experiment exists only once set-up has run, so while the tables are missing it reads as not found, and a cold
    /// instance's first <c>experiments/get</c> is one point read. A caller that goes on to write needs the tables first.
    /// </param>
    private async Task<(ExperimentDocument Doc, ETag ETag)?> ReadExperimentAsync(string experimentId, CancellationToken ct, bool onlyReading = false)
    {
        if (RunIds.CanonicalExperimentId(experimentId) is not { } id) return null;
        experimentId = id;
        if (!onlyReading || experimentId == DefaultExperimentId) await EnsureInitializedAsync(ct);
        var row = await StorageErrors.Call(() => _experiments.GetEntityIfExistsAsync<TableEntity>(ExperimentPartition, ExperimentRow(experimentId), cancellationToken: ct));
        return row.HasValue ? (ReadExperiment(row.Value!), row.Value!.ETag) : null;
    }

    public Task<Experiment> RequireExperimentAsync(string experimentId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await GetExperimentAsync(experimentId, ct) ?? throw ExperimentNotFound(experimentId), ct);

    private static MlflowException ExperimentNotFound(string id) => MlflowException.NotFound($"No Experiment with id={id} exists");

    public Task<Experiment?> GetExperimentByNameAsync(string name, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            // As for an id (ReadExperimentAsync): only Default's name waits for the set-up that seeds it.
            if (name == DefaultExperimentName) await EnsureInitializedAsync(ct);
            var row = await StorageErrors.Call(() => _experiments.GetEntityIfExistsAsync<TableEntity>(ExperimentPartition, NameRow(name), cancellationToken: ct));
            return row.HasValue ? await GetExperimentAsync(row.Value!.GetString("ExperimentId"), ct) : null;
        }, ct);

    public Task<Page> SearchExperimentsAsync(
        ViewType view, int maxResults, string? filter, IReadOnlyList<string> orderBy, string? pageToken, CancellationToken ct = default,
        Func<string, bool>? visible = null) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (maxResults is < 1 or > SearchMaxResults)
                throw MlflowException.InvalidParameter(
                    $"Invalid value {maxResults} for parameter 'max_results' supplied. It must be at most {SearchMaxResults} and at least 1.");
            var parsedFilter = ExperimentFilter.Parse(filter);
            var ordering = ExperimentOrdering.Parse(orderBy);
            // The result set is chosen by the view and filter and ordered by order_by; max_results may change between pages.
            var query = PageQuery.Of("experiments/search", [view.ToString()], [filter ?? ""], orderBy);
            var offset = (await ReadPageTokenAsync(_keys, pageToken, query, ct)).Offset;
            await EnsureInitializedAsync(ct);

            var matches = new List<ExperimentDocument>();
            await foreach (var row in _experiments.QueryAsync<TableEntity>(
                               ExperimentRangeFilter(view), cancellationToken: ct).WithTransientErrors())
            {
                var doc = ReadExperiment(row);
                if (parsedFilter.Matches(doc) && (visible is null || visible(doc.ExperimentId))) matches.Add(doc);
            }
            matches.Sort(ordering);
            var page = matches.Skip(offset).Take(maxResults).Select(d => d.ToExperiment()).ToList();
            return new Page(page, await NextPageTokenAsync(_keys, offset, maxResults, matches.Count, query, ct));
        }, ct);

    private static string ExperimentRangeFilter(ViewType view) => view switch
    {
        ViewType.ActiveOnly => RowsWithPrefix(ExperimentPartition, ExperimentRowPrefix, $"Lifecycle eq {LifecycleStage.Active}"),
        ViewType.DeletedOnly => RowsWithPrefix(ExperimentPartition, ExperimentRowPrefix, $"Lifecycle eq {LifecycleStage.Deleted}"),
        _ => RowsWithPrefix(ExperimentPartition, ExperimentRowPrefix),
    };

    public Task RenameExperimentAsync(string experimentId, string newName, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await OptimisticAsync("the experiments table", MaxConflictRetries, async _ =>
            {
                var (doc, etag) = await ReadExperimentAsync(experimentId, ct) ?? throw ExperimentNotFound(experimentId);
                if (doc.Lifecycle != LifecycleStage.Active)
                    // MLflow maps INVALID_STATE to 500, which its client retries for minutes; like Tracker's other state
                    // errors this is the caller's mistake, so it keeps MLflow's code and message but answers 400.
                    throw new MlflowException(ErrorCode.InvalidState with { HttpStatus = 400 }, "Cannot rename a non-active experiment.");
                if (doc.Name == newName) return;
                var oldName = doc.Name;
                doc.Name = newName;
                doc.LastUpdateTime = Now();
                try
                {
                    await StorageErrors.Call(() => _experiments.SubmitTransactionAsync(
                    [
                        new(TableTransactionActionType.UpdateReplace, ExperimentEntity(doc), etag),
                        new(TableTransactionActionType.Add, NameEntity(newName, experimentId)),
                        new(TableTransactionActionType.Delete, new TableEntity(ExperimentPartition, NameRow(oldName)), ETag.All),
                    ], ct));
                    return;
                }
                catch (TableTransactionFailedException e) when (e.Status == StorageErrors.Conflict && e.FailedTransactionActionIndex == 1)
                {
                    throw new MlflowException(ErrorCode.BadRequest, $"Experiment(name={newName}) already exists.");
                }
            }, ct);
        }, ct);

    public Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await UpdateExperimentAsync(experimentId, doc =>
            {
                RequireActive(doc);
                var i = doc.Tags.FindIndex(t => t.Key == key);
                if (i >= 0) doc.Tags[i] = new KeyValue(key, value);
                else doc.Tags.Add(new KeyValue(key, value));
            }, ct), ct);

    public Task DeleteExperimentTagAsync(string experimentId, string key, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await UpdateExperimentAsync(experimentId, doc =>
            {
                RequireActive(doc);
                if (doc.Tags.RemoveAll(t => t.Key == key) == 0)
                    throw MlflowException.NotFound($"No tag with name: {key} in experiment with id {experimentId}");
            }, ct), ct);

    private static void RequireActive(ExperimentDocument doc)
    {
        if (doc.Lifecycle != LifecycleStage.Active)
            throw MlflowException.InvalidParameter(
                $"The experiment {doc.ExperimentId} must be in the 'active' state. Current state is {doc.Lifecycle}.");
    }

    /// <summary>Deletes the experiment and, as MLflow does, marks every one of its runs deleted.</summary>
    public Task DeleteExperimentAsync(string experimentId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var (doc, _) = await ReadExperimentAsync(experimentId, ct) ?? throw ExperimentNotFound(experimentId);
            if (doc.Lifecycle != LifecycleStage.Active)
                throw MlflowException.NotFound($"Could not find experiment with ID {experimentId}. It is either deleted or does not exist.");
            var now = Now();
            // Runs first: if this stops half-way the experiment is still active and a retried delete finishes the job.
            await SetRunsLifecycleAsync(experimentId, LifecycleStage.Deleted, now, ct);
            await UpdateExperimentAsync(experimentId, d =>
            {
                d.Lifecycle = LifecycleStage.Deleted;
                d.DeletedTime = now;
                d.LastUpdateTime = now;
            }, ct);
        }, ct);

    public Task RestoreExperimentAsync(string experimentId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var (doc, _) = await ReadExperimentAsync(experimentId, ct) ?? throw ExperimentNotFound(experimentId);
            if (doc.Lifecycle != LifecycleStage.Deleted)
                throw MlflowException.NotFound($"Could not find deleted experiment with ID {experimentId}.");
            await SetRunsLifecycleAsync(experimentId, LifecycleStage.Active, null, ct);
            await UpdateExperimentAsync(experimentId, d =>
            {
                d.Lifecycle = LifecycleStage.Active;
                d.DeletedTime = null;
                d.LastUpdateTime = Now();
            }, ct);
        }, ct);

    private Task UpdateExperimentAsync(string experimentId, Action<ExperimentDocument> change, CancellationToken ct) =>
        OptimisticAsync("the experiments table", MaxConflictRetries, async _ =>
        {
            var (doc, etag) = await ReadExperimentAsync(experimentId, ct) ?? throw ExperimentNotFound(experimentId);
            change(doc);
            await StorageErrors.Call(() => _experiments.UpdateEntityAsync(ExperimentEntity(doc), etag, TableUpdateMode.Replace, ct));
        }, ct);
}
