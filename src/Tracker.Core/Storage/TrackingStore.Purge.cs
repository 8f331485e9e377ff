using Azure;
using Azure.Data.Tables;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

/// <summary>
/// The storage side of a permanent purge (issue 10 §3; the lifecycle workers in Tracker.Core.Lifecycle decide when).
///
/// A purged run's row does not disappear: it is replaced by a tombstone, a row of about 100 bytes (partition and row
/// key, <c>Lifecycle = purged</c> and the Table timestamp) that every reader treats as absent. The tombstone's write
/// carries a change row like any run-row write, so a search's view (TrackingStore.RunCatalog) re-reads the run and
/// drops it. Deleting the row in that transaction instead would save its bytes, but every reader would still have to
/// treat the tombstones written before the change feed existed as absent: keeping them is one rule instead of two (a
/// run id is never issued again, so they only cost their bytes). The tombstone is written last, after the history, spill rows and blobs are gone, so a purge that stops
/// half-way leaves a deleted run that the cleanup timer finds again.
/// </summary>
public sealed partial class TrackingStore
{
    /// <summary>The <c>Lifecycle</c> of a run row that is a tombstone.</summary>
    internal const string Purged = "purged";

    private static bool IsTombstone(TableEntity row) => row.GetString("Lifecycle") == Purged;

    /// <summary>The run's lifecycle and deleted time; null when it does not exist or was purged.</summary>
    public Task<PurgeCandidate?> GetRunForPurgeAsync(string runId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var read = await ReadRunAsync(runId, useCache: false, ct);
            return read is { Doc: var doc } ? new PurgeCandidate(runId, doc.ExperimentId, doc.Lifecycle, doc.DeletedTime) : null;
        }, ct);

    /// <summary>The experiment's lifecycle and deleted time; null when it does not exist.</summary>
    public Task<PurgeCandidate?> GetExperimentForPurgeAsync(string experimentId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
            await ReadExperimentAsync(experimentId, ct) is var (doc, _)
                ? new PurgeCandidate(doc.ExperimentId, doc.ExperimentId, doc.Lifecycle, doc.DeletedTime)
                : null, ct);

    /// <summary>Up to <paramref name="max"/> run ids of the experiment (tombstones left out), in row-key order from
    /// <paramref name="fromRunId"/> on.</summary>
    public Task<IReadOnlyList<string>> ListRunIdsAsync(string experimentId, string? fromRunId, int max, CancellationToken ct = default) =>
        WithinBudget<IReadOnlyList<string>>(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            var ids = new List<string>();
            var filter = fromRunId is null
                ? RowsWithPrefix(experimentId, RunRowPrefix, $"Lifecycle ne {Purged}")
                : RowsWithPrefix(experimentId, RunRowPrefix, $"RowKey ge {RunRow(fromRunId)} and Lifecycle ne {Purged}");
            await foreach (var row in _runs.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), select: ["RowKey"], cancellationToken: ct).WithTransientErrors())
            {
                ids.Add(row.RowKey[RunRowPrefix.Length..]);
                if (ids.Count >= max) break;
            }
            return ids;
        }, ct);

    /// <summary>The logged models of the experiment (deleted ones too), optionally only those a run created.</summary>
    public Task<IReadOnlyList<PurgeCandidate>> ListLoggedModelsForPurgeAsync(string experimentId, string? sourceRunId, CancellationToken ct = default) =>
        WithinBudget<IReadOnlyList<PurgeCandidate>>(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            var models = new List<PurgeCandidate>();
            await foreach (var row in _loggedModels.QueryAsync<TableEntity>(Filter($"PartitionKey eq {experimentId}"), cancellationToken: ct).WithTransientErrors())
            {
                var doc = ReadLoggedModel(row);
                if (sourceRunId is null || doc.SourceRunId == sourceRunId)
                    models.Add(new PurgeCandidate(doc.ModelId, doc.ExperimentId, doc.Lifecycle, null));
            }
            models.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            return models;
        }, ct);

    public Task DeleteLoggedModelRowAsync(string modelId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (LoggedModelIds.ExperimentOf(modelId) is not { } experimentId) return;
            await EnsureInitializedAsync(ct);
            try
            {
                await StorageErrors.Call(() => _loggedModels.DeleteEntityAsync(experimentId, modelId, ETag.All, ct));
            }
            catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
            {
                // Purged already by an earlier delivery.
            }
        }, ct);

    /// <summary>
    /// Deletes up to <paramref name="maxRows"/> of the run's own rows besides its run row: metric history (in both
    /// places, see TrackingStore.History) and spill rows. Returns how many it deleted; fewer than
    /// <paramref name="maxRows"/> means none are left.
    /// </summary>
    public Task<int> DeleteRunDataRowsAsync(string runId, int maxRows, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (RunIds.ExperimentOf(runId) is not { } experimentId) return 0;
            await EnsureInitializedAsync(ct);
            var deleted = 0;
            foreach (var (table, filter) in new[]
                     {
                         (_metrics, Filter($"PartitionKey eq {runId}")),
                         (_runs, RowsWithPrefix(experimentId, NewHistoryPlace(experimentId, runId).RowPrefix)),
                         (_runs, RowsWithPrefix(experimentId, SpillRowPrefix + runId + ":")),
                     })
            {
                var keys = new List<TableEntity>();
                await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: ct).WithTransientErrors())
                {
                    keys.Add(row);
                    if (deleted + keys.Count >= maxRows) break;
                }
                // One entity-group transaction per 100 rows of a partition: every row here is in one.
                foreach (var batch in keys.Chunk(100))
                    await StorageErrors.Call(() => table.SubmitTransactionAsync(
                        batch.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(r.PartitionKey, r.RowKey), ETag.All)), ct));
                deleted += keys.Count;
                if (deleted >= maxRows) return deleted;
            }
            return deleted;
        }, ct);

    /// <summary>
    /// Replaces a deleted run's row by its tombstone (see the class comment), under the ETag of a read that found it
    /// still deleted: a run restored meanwhile stays. False when it was not deleted (or is gone). With
    /// <paramref name="anyLifecycle"/> (its experiment is being purged) the run goes whatever its own lifecycle.
    /// </summary>
    public Task<bool> TombstoneRunAsync(string runId, bool anyLifecycle = false, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (RunIds.ExperimentOf(runId) is not { } experimentId) return false;
            await EnsureInitializedAsync(ct);
            return await OptimisticAsync($"run {runId}", MaxConflictRetries, async _ =>
            {
                var row = await StorageErrors.Call(() => _runs.GetEntityIfExistsAsync<TableEntity>(experimentId, RunRow(runId), select: ["Lifecycle"], cancellationToken: ct));
                if (!row.HasValue || IsTombstone(row.Value!) || (!anyLifecycle && row.Value!.GetString("Lifecycle") != LifecycleStage.Deleted)) return false;
                var tombstone = new TableEntity(experimentId, RunRow(runId)) { ["Lifecycle"] = Purged };
                await CommitRunRowAsync(new(TableTransactionActionType.UpdateReplace, tombstone, row.Value!.ETag), [], ct);
                _runRowCache.Remove(runId);
                return true;
            }, ct);
        }, ct);

    /// <summary>
    /// Removes a deleted experiment's row and its name reservation in one transaction, so the name can be used again
    /// (the id is never issued again). Its runs must be purged first: their tombstones stay in the runs table. False
    /// when the experiment is not deleted (restored meanwhile) or gone.
    /// </summary>
    public Task<bool> DeleteExperimentRowsAsync(string experimentId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            return await OptimisticAsync("the experiments table", MaxConflictRetries, async _ =>
            {
                if (await ReadExperimentAsync(experimentId, ct) is not var (doc, etag) || doc.Lifecycle != LifecycleStage.Deleted) return false;
                var actions = new List<TableTransactionAction>
                {
                    new(TableTransactionActionType.Delete, new TableEntity(ExperimentPartition, ExperimentRow(doc.ExperimentId)), etag),
                };
                // The name row is removed only while it still names this experiment.
                var name = await StorageErrors.Call(() => _experiments.GetEntityIfExistsAsync<TableEntity>(ExperimentPartition, NameRow(doc.Name), cancellationToken: ct));
                if (name.HasValue && name.Value!.GetString("ExperimentId") == doc.ExperimentId)
                    actions.Add(new(TableTransactionActionType.Delete, new TableEntity(ExperimentPartition, NameRow(doc.Name)), name.Value!.ETag));
                await StorageErrors.Call(() => _experiments.SubmitTransactionAsync(actions, ct));
                return true;
            }, ct);
        }, ct);
}
