using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Tracker.Core.Search;
using Tracker.Core.Tracking;

namespace Tracker.Core.Storage;

public sealed partial class TrackingStore
{
    public const int SearchRunsDefaultMaxResults = 1000;
    public const int SearchRunsMaxResults = 50000;

    /// <summary>
    /// MLflow's search_runs: one range query per experiment (never a request per run), then the filter, order and page
    /// are applied in memory. Filter and order are parsed before any I/O, so a bad one costs nothing.
    /// </summary>
    public async Task<Page<Run>> SearchRunsAsync(
        IReadOnlyList<string> experimentIds, string? filter, ViewType view, int maxResults, IReadOnlyList<string> orderBy,
        string? pageToken, CancellationToken ct = default)
    {
        if (maxResults is < 1 or > SearchRunsMaxResults)
            throw MlflowException.InvalidParameter(
                $"Invalid value {maxResults} for parameter 'max_results' supplied. It must be at most {SearchRunsMaxResults} and at least 1.");
        var canonicalIds = experimentIds.Select(id => RunIds.CanonicalExperimentId(id)
            ?? throw MlflowException.InvalidParameter($"Invalid experiment id '{id}': experiment ids are integers.")).Distinct().ToList();
        var parsedFilter = RunFilter.Parse(filter);
        var ordering = RunOrdering.Parse(orderBy);
        var offset = PageToken.Decode(pageToken);
        await EnsureInitializedAsync();

        var perExperiment = await Task.WhenAll(canonicalIds.Select(id => ReadRunsAsync(id, view, parsedFilter, ct)));
        var matches = perExperiment.SelectMany(runs => runs).ToList();
        matches.Sort(ordering);
        var page = matches.Skip(offset).Take(maxResults).Select(d => d.ToRun(includeModelInputs: false)).ToList();
        return new Page<Run>(page, PageToken.Next(offset, maxResults, matches.Count));
    }

    private async Task<List<RunDocument>> ReadRunsAsync(string experimentId, ViewType view, RunFilter filter, CancellationToken ct)
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
    /// Every run row of an experiment as storage holds it now. This instance keeps the rows it has seen and asks
    /// storage only for rows written since (by Table's own Timestamp, with a margin), so a search stays exact across
    /// instances while repeated searches and later pages skip re-reading thousands of unchanged rows. Runs are never
    /// removed from a partition (delete is a lifecycle change), so a changed row is all there is to learn.
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
            var query = known.Watermark is { } seen
                ? Filter($"PartitionKey eq {experimentId} and RowKey ge {"r:"} and RowKey lt {"r;"} and Timestamp ge {seen - TimestampMargin}")
                : Filter($"PartitionKey eq {experimentId} and RowKey ge {"r:"} and RowKey lt {"r;"}");
            var select = DocumentColumns.Names.Append("Timestamp").ToArray();
            await foreach (var row in _runs.QueryAsync<TableEntity>(query, select: select, cancellationToken: ct).WithTransientErrors())
            {
                var doc = ReadRun(row);
                known.Runs[doc.RunId] = doc;
                if (row.Timestamp > known.Watermark || known.Watermark is null) known.Watermark = row.Timestamp;
            }
            return [.. known.Runs.Values];
        }
        finally
        {
            known.Lock.Release();
        }
    }

    /// <summary>Rows stamped this long before the newest one seen are read again, against clock skew between writers.</summary>
    private static readonly TimeSpan TimestampMargin = TimeSpan.FromSeconds(5);

    private sealed class KnownRuns
    {
        public readonly SemaphoreSlim Lock = new(1, 1);
        public readonly Dictionary<string, RunDocument> Runs = new(StringComparer.Ordinal);
        public DateTimeOffset? Watermark;
    }
}
