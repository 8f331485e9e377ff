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
    /// <summary>Sorted matches of recent multi-page searches, by query digest and the versions of the views they came from.</summary>
    private readonly MemoryCache _sortedSearches = new(new MemoryCacheOptions { SizeLimit = 8 });

    /// <summary>
    /// MLflow's search_runs over each experiment's cached view (TrackingStore.RunCatalog: refreshed from the change feed,
    /// never a request per unchanged run), then the filter, order and page are applied in memory. Filter and order are
    /// parsed before any I/O, so a bad one costs nothing.
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
            // A client paging through 100,000 runs asks 100 times for the same order: while no view changed, the
            // previous page's sorted matches serve (a sort of the whole experiment per page took most of each page).
            var sortedKey = (Convert.ToHexString(query.Digest), string.Join(',', perExperiment.Select(e => e.Version)));
            if (!_sortedSearches.TryGetValue(sortedKey, out List<CompactRun>? matches) || matches is null)
            {
                matches = perExperiment.SelectMany(e => e.Runs).ToList();
                matches.Sort(ordering);
                if (offset + maxResults < matches.Count)
                    _sortedSearches.Set(sortedKey, matches, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(2) });
            }
            var page = matches.Skip(offset).Take(maxResults).Select(run => run.ToRun()).ToList();
            return new Page<Run>(page, await NextPageTokenAsync(_keys, offset, maxResults, matches.Count, query, ct));
        }, ct);

    private Task<(List<CompactRun> Runs, long Version)> ReadRunsAsync(string experimentId, ViewType view, SearchFilter<ISearchableRun> filter, CancellationToken ct) =>
        CurrentRunsAsync(experimentId, run => view switch
        {
            ViewType.ActiveOnly => run.Lifecycle == LifecycleStage.Active,
            ViewType.DeletedOnly => run.Lifecycle == LifecycleStage.Deleted,
            _ => true,
        } && filter.Matches(run), ct);

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
}
