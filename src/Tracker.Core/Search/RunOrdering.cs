namespace Tracker.Core.Search;

/// <summary>
/// The <c>runs/search</c> sort order (spec §5.2), matching MLflow's SQL store: per key, rows with a
/// value come first (in the requested direction), then NaN metrics, then rows missing the key, in
/// both directions; ties fall through to <c>start_time DESC</c> (unless already ordered on) and
/// then <c>run_id ASC</c>.
/// </summary>
public sealed class RunOrdering : IComparer<ISearchableRun>
{
    private static readonly SearchOrderKey StartTimeDescending = new(SearchEntityType.Attribute, "start_time", Ascending: false);
    private static readonly SearchOrderKey RunIdAscending = new(SearchEntityType.Attribute, "run_id", Ascending: true);

    private RunOrdering(IReadOnlyList<SearchOrderKey> keys) => Keys = keys;

    /// <summary><c>start_time DESC, run_id ASC</c>.</summary>
    public static RunOrdering Default { get; } = new([StartTimeDescending, RunIdAscending]);

    /// <summary>The full key list, tie-breakers included.</summary>
    public IReadOnlyList<SearchOrderKey> Keys { get; }

    /// <summary>Parses <c>order_by</c> elements; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when one is not valid.</summary>
    public static RunOrdering Parse(IReadOnlyList<string>? orderBy)
    {
        if (orderBy is null || orderBy.Count == 0)
        {
            return Default;
        }

        if (orderBy.Count > SearchLimits.MaxOrderByClauses)
        {
            throw MlflowException.InvalidParameter(
                $"order_by has {orderBy.Count} elements, the maximum is {SearchLimits.MaxOrderByClauses}.");
        }

        var keys = new List<SearchOrderKey>();
        foreach (var element in orderBy)
        {
            var key = RunSearchGrammar.Instance.ParseOrderBy(element ?? "");
            if (keys.Any(k => k.Entity == key.Entity && k.Key == key.Key))
            {
                // MLflow's SQL store raises this as a 500 (so clients retry it); a 400 is what it means.
                throw MlflowException.InvalidParameter($"`order_by` contains duplicate fields: {PythonList(orderBy)}");
            }

            keys.Add(key);
        }

        if (!keys.Any(k => k.Entity == SearchEntityType.Attribute && k.Key == "start_time"))
        {
            keys.Add(StartTimeDescending);
        }

        keys.Add(RunIdAscending);
        return new RunOrdering(keys);
    }

    public int Compare(ISearchableRun? x, ISearchableRun? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        foreach (var key in Keys)
        {
            var result = Compare(key, x, y);
            if (result != 0)
            {
                return result;
            }
        }

        return 0;
    }

    private static int Compare(SearchOrderKey key, ISearchableRun x, ISearchableRun y) => key.Entity switch
    {
        SearchEntityType.Metric => CompareMetric(key, x, y),
        SearchEntityType.Param => CompareStrings(key, Lookup(x.Params, key.Key), Lookup(y.Params, key.Key)),
        SearchEntityType.Tag => CompareStrings(key, Lookup(x.Tags, key.Key), Lookup(y.Tags, key.Key)),
        _ => key.Key switch
        {
            "start_time" => CompareNumbers(key, x.StartTime, y.StartTime),
            "end_time" => CompareNumbers(key, x.EndTime, y.EndTime),
            "run_id" => CompareStrings(key, x.RunId, y.RunId),
            "run_name" => CompareStrings(key, x.RunName, y.RunName),
            "status" => CompareStrings(key, x.Status, y.Status),
            "user_id" => CompareStrings(key, x.UserId, y.UserId),
            _ => CompareStrings(key, x.ArtifactUri, y.ArtifactUri),
        },
    };

    private static int CompareMetric(SearchOrderKey key, ISearchableRun x, ISearchableRun y)
    {
        var hasX = x.LatestMetrics.TryGetValue(key.Key, out var vx);
        var hasY = y.LatestMetrics.TryGetValue(key.Key, out var vy);
        var rankX = MetricRank(hasX, vx);
        var rankY = MetricRank(hasY, vy);
        if (rankX != rankY || rankX != 0)
        {
            return rankX.CompareTo(rankY);
        }

        return Directed(key, vx.CompareTo(vy));
    }

    /// <summary>0 for a real value, 1 for NaN, 2 for missing: placement that ignores the direction.</summary>
    private static int MetricRank(bool present, double value) => !present ? 2 : double.IsNaN(value) ? 1 : 0;

    private static int CompareNumbers(SearchOrderKey key, long? x, long? y) => (x, y) switch
    {
        (null, null) => 0,
        (null, _) => 1,
        (_, null) => -1,
        _ => Directed(key, x.Value.CompareTo(y.Value)),
    };

    private static int CompareStrings(SearchOrderKey key, string? x, string? y) => (x, y) switch
    {
        (null, null) => 0,
        (null, _) => 1,
        (_, null) => -1,
        _ => Directed(key, string.CompareOrdinal(x, y)),
    };

    // Sign first: CompareOrdinal may return any int, and negating int.MinValue overflows.
    private static int Directed(SearchOrderKey key, int comparison) => key.Ascending ? Math.Sign(comparison) : -Math.Sign(comparison);

    private static string? Lookup(IReadOnlyDictionary<string, string> values, string key) =>
        values.TryGetValue(key, out var value) ? value : null;

    private static string PythonList(IReadOnlyList<string> items) => "[" + string.Join(", ", items.Select(i => $"'{i}'")) + "]";
}
