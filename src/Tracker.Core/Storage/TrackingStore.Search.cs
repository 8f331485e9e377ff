using Azure.Data.Tables;
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
        foreach (var id in experimentIds)
            if (!IsExperimentId(id))
                throw MlflowException.InvalidParameter($"Invalid experiment id '{id}': experiment ids are integers.");
        var parsedFilter = RunFilter.Parse(filter);
        var ordering = RunOrdering.Parse(orderBy);
        var offset = PageToken.Decode(pageToken);
        await EnsureInitializedAsync();

        var perExperiment = await Task.WhenAll(experimentIds.Distinct().Select(id => ReadRunsAsync(id, view, parsedFilter, ct)));
        var matches = perExperiment.SelectMany(runs => runs).ToList();
        matches.Sort(ordering);
        var page = matches.Skip(offset).Take(maxResults).Select(d => d.ToRun(includeModelInputs: false)).ToList();
        return new Page<Run>(page, PageToken.Next(offset, maxResults, matches.Count));
    }

    private async Task<List<RunDocument>> ReadRunsAsync(string experimentId, ViewType view, RunFilter filter, CancellationToken ct)
    {
        var query = view switch
        {
            ViewType.ActiveOnly => Filter($"PartitionKey eq {experimentId} and RowKey ge {"r:"} and RowKey lt {"r;"} and Lifecycle eq {LifecycleStage.Active}"),
            ViewType.DeletedOnly => Filter($"PartitionKey eq {experimentId} and RowKey ge {"r:"} and RowKey lt {"r;"} and Lifecycle eq {LifecycleStage.Deleted}"),
            _ => Filter($"PartitionKey eq {experimentId} and RowKey ge {"r:"} and RowKey lt {"r;"}"),
        };
        var runs = new List<RunDocument>();
        await foreach (var row in _runs.QueryAsync<TableEntity>(query, select: DocumentColumns.Names, cancellationToken: ct).WithTransientErrors())
        {
            var doc = ReadRun(row);
            if (filter.Matches(doc)) runs.Add(doc);
        }
        return runs;
    }
}
