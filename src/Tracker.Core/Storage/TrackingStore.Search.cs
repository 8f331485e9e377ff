using ETag = Azure.ETag;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Tracker.Core.Search;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

public sealed partial class TrackingStore
{
    public const int SearchRunsDefaultMaxResults = 1000;
    public const int SearchRunsMaxResults = 50000;
    /// <summary>A search fans out one query per experiment; more ids than this is a body bomb, not a search.</summary>
    public const int SearchRunsMaxExperiments = 1000;
    private const int ParallelExperimentReads = 16;

    /// <summary>
    /// MLflow's search_runs: one range query per experiment (never a request per run), then the filter, order and page
    /// are applied in memory. Filter and order are parsed before any I/O, so a bad one costs nothing.
    /// </summary>
    public Task<Page<Run>> SearchRunsAsync(
        IReadOnlyList<string> experimentIds, string? filter, ViewType view, int maxResults, IReadOnlyList<string> orderBy,
        string? pageToken, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (maxResults is < 1 or > SearchRunsMaxResults)
                throw MlflowException.InvalidParameter(
                    $"Invalid value {maxResults} for parameter 'max_results' supplied. It must be at most {SearchRunsMaxResults} and at least 1.");
            if (experimentIds.Count > SearchRunsMaxExperiments)
                throw MlflowException.InvalidParameter(
                    $"A search can cover at most {SearchRunsMaxExperiments} experiments. Got {experimentIds.Count} experiment ids.");
            var canonicalIds = experimentIds.Select(id => RunIds.CanonicalExperimentId(id)
                ?? throw MlflowException.InvalidParameter($"Invalid experiment id '{Echo.Truncate(id)}': experiment ids are integers.")).Distinct().ToList();
            var parsedFilter = RunFilter.Parse(filter);
            var ordering = RunOrdering.Parse(orderBy);
            // The result set is chosen by the experiments, filter and view and ordered by order_by. max_results is left
            // out: MLflow's client asks for fewer on its last page, and an offset means the same at any page size.
            var query = PageQuery.Of("runs/search", canonicalIds, [filter ?? ""], [view.ToString()], orderBy);
            var offset = (await ReadPageTokenAsync(_keys, pageToken, query, ct)).Offset;
            await EnsureInitializedAsync(ct);

            using var parallel = new SemaphoreSlim(ParallelExperimentReads);
            var perExperiment = await Task.WhenAll(canonicalIds.Select(async id =>
            {
                await parallel.WaitAsync(ct);
                try
                {
                    return await ReadRunsAsync(id, view, parsedFilter, ct);
                }
                finally
                {
                    parallel.Release();
                }
            }));
            var matches = perExperiment.SelectMany(runs => runs).ToList();
            matches.Sort(ordering);
            var page = matches.Skip(offset).Take(maxResults).Select(d => d.ToRun(includeModelInputs: false)).ToList();
            return new Page<Run>(page, await NextPageTokenAsync(_keys, offset, maxResults, matches.Count, query, ct));
        }, ct);

    private async Task<List<RunDocument>> ReadRunsAsync(string experimentId, ViewType view, SearchFilter<ISearchableRun> filter, CancellationToken ct)
    {
        var runs = new List<RunDocument>();
        foreach (var doc in await CurrentRunsAsync(experimentId, ct))
        {
            var visible = view switch
            {
                ViewType.ActiveOnly => doc.Lifecycle == LifecycleStage.Active,
                ViewType.DeletedOnly => doc.Lifecycle == LifecycleStage.Deleted,
                _ => true,
            };
            if (visible && filter.Matches(doc)) runs.Add(doc);
        }
        return runs;
    }

    /// <summary>
    /// Every run row of an experiment as storage holds it now. This instance keeps the rows it has seen; each call asks
    /// storage which rows were written since (Table's own Timestamp, minus a margin against clock skew), first for keys
    /// and ETags only, then in full for just the rows whose ETag it does not hold. A search thus stays exact across
    /// instances while repeated searches and later pages skip re-reading thousands of unchanged rows. Runs are never
    /// removed from a partition (delete is a lifecycle change, and a purge leaves a tombstone that is itself a change),
    /// so changed rows are all there is to learn.
    /// </summary>
    private async Task<RunDocument[]> CurrentRunsAsync(string experimentId, CancellationToken ct)
    {
        var known = _experimentRuns.GetOrCreate(experimentId, entry =>
        {
            entry.Size = 1;
            entry.SlidingExpiration = TimeSpan.FromMinutes(10);
            return new KnownRuns();
        })!;
        await known.Lock.WaitAsync(ct);
        try
        {
            var since = known.Watermark - TimestampMargin;
            if (since is { } from)
            {
                var stale = new List<TableEntity>();
                await foreach (var row in _runs.QueryAsync<TableEntity>(RunRows(experimentId, from), select: ["RowKey", "Timestamp"], cancellationToken: ct).WithTransientErrors())
                    if ((!known.Runs.TryGetValue(row.RowKey, out var held) || held.ETag != row.ETag) &&
                        (!known.Tombstones.TryGetValue(row.RowKey, out var gone) || gone != row.ETag)) stale.Add(row);
                if (stale.Count == 0) return [.. known.Runs.Values.Select(r => r.Doc)];
                since = stale.Min(r => r.Timestamp);
            }
            var spilled = new List<TableEntity>();
            await foreach (var row in _runs.QueryAsync<TableEntity>(RunRows(experimentId, since), select: [.. DocumentColumns.Selected, SpillProperty, "Lifecycle", "RowKey", "Timestamp"], cancellationToken: ct).WithTransientErrors())
            {
                // A purged run's tombstone (TrackingStore.Purge) is a change like any other: it drops the run here.
                if (IsTombstone(row))
                {
                    known.Runs.Remove(row.RowKey);
                    known.Tombstones[row.RowKey] = row.ETag;
                }
                else if (SpillOf(row).Length > 0) spilled.Add(row);
                else known.Runs[row.RowKey] = (ReadRun(row), row.ETag);
                if (known.Watermark is null || row.Timestamp > known.Watermark) known.Watermark = row.Timestamp;
            }
            // A large run costs one more range query, and only when its row changed since this instance last read it.
            foreach (var (key, run) in await Task.WhenAll(spilled.Select(async row => (row.RowKey, await ReadSpilledRunAsync(row, ct)))))
                if (run is { } read) known.Runs[key] = read;
                else known.Runs.Remove(key);
            return [.. known.Runs.Values.Select(r => r.Doc)];
        }
        finally
        {
            known.Lock.Release();
        }
    }

    /// <summary>A search row naming a spill generation, completed from its spill rows; or, when that generation was
    /// superseded meanwhile, the run as a point read finds it now.</summary>
    private async Task<(RunDocument Doc, ETag ETag)?> ReadSpilledRunAsync(TableEntity row, CancellationToken ct)
    {
        var runId = row.RowKey[RunRowPrefix.Length..];
        var spill = SpillOf(row);
        return await ReadSpillAsync(row.PartitionKey, runId, spill, ct) is { } json
            ? (ReadRun(json, PointBuffer.Empty(), spill), row.ETag)
            : await ReadRunAsync(runId, useCache: false, ct);
    }

    private static string RunRows(string experimentId, DateTimeOffset? since) => since is { } from
        ? RowsWithPrefix(experimentId, RunRowPrefix, $"Timestamp ge {from}")
        : RowsWithPrefix(experimentId, RunRowPrefix);

    /// <summary>Rows stamped this long before the newest one seen are checked again, against clock skew between writers.</summary>
    private static readonly TimeSpan TimestampMargin = TimeSpan.FromSeconds(5);

    private sealed class KnownRuns
    {
        public readonly SemaphoreSlim Lock = new(1, 1);
        /// <summary>By row key: the row's document and the ETag it was read at.</summary>
        public readonly Dictionary<string, (RunDocument Doc, ETag ETag)> Runs = new(StringComparer.Ordinal);
        public DateTimeOffset? Watermark;
        /// <summary>Purged runs' tombstones seen, by row key, so a tombstone near the watermark is not read again.</summary>
        public readonly Dictionary<string, ETag> Tombstones = new(StringComparer.Ordinal);
    }
}
