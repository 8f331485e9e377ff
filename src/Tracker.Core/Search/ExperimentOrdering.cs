using System.Globalization;

namespace Tracker.Core.Search;

/// <summary>
/// The <c>experiments/search</c> sort order (spec §5.3): default <c>creation_time DESC,
/// experiment_id ASC</c>; an explicit order gets MLflow's tie-breaker <c>experiment_id DESC</c>
/// unless it already orders on experiment_id. Experiment ids compare as integers, as in MLflow's
/// SQL store where the column is an integer ("10" after "9").
/// </summary>
public sealed class ExperimentOrdering : IComparer<ISearchableExperiment>
{
    private ExperimentOrdering(IReadOnlyList<SearchOrderKey> keys) => Keys = keys;

    public static ExperimentOrdering Default { get; } = new(
    [
        new SearchOrderKey(SearchEntityType.Attribute, "creation_time", Ascending: false),
        new SearchOrderKey(SearchEntityType.Attribute, "experiment_id", Ascending: true),
    ]);

    /// <summary>The full key list, tie-breaker included.</summary>
    public IReadOnlyList<SearchOrderKey> Keys { get; }

    /// <summary>Parses <c>order_by</c> elements; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when one is not valid.</summary>
    public static ExperimentOrdering Parse(IReadOnlyList<string>? orderBy)
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

        // MLflow does not reject repeated keys here (unlike runs); a repeat is harmless, so neither do we.
        var keys = orderBy.Select(o => ExperimentSearchGrammar.Instance.ParseOrderBy(o ?? "")).ToList();
        if (!keys.Any(k => k.Key == "experiment_id"))
        {
            keys.Add(new SearchOrderKey(SearchEntityType.Attribute, "experiment_id", Ascending: false));
        }

        return new ExperimentOrdering(keys);
    }

    public int Compare(ISearchableExperiment? x, ISearchableExperiment? y)
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
            var result = key.Key switch
            {
                "creation_time" => x.CreationTime.CompareTo(y.CreationTime),
                "last_update_time" => x.LastUpdateTime.CompareTo(y.LastUpdateTime),
                "experiment_id" => CompareIds(x.ExperimentId, y.ExperimentId),
                _ => Math.Sign(string.CompareOrdinal(x.Name, y.Name)),
            };
            if (result != 0)
            {
                return key.Ascending ? result : -result;
            }
        }

        return 0;
    }

    /// <summary>Numerically; a non-numeric id (never issued by Tracker) sorts after numeric ones, ordinally.</summary>
    private static int CompareIds(string x, string y)
    {
        var xIsNumber = long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var nx);
        var yIsNumber = long.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out var ny);
        return (xIsNumber, yIsNumber) switch
        {
            (true, true) => nx.CompareTo(ny),
            (true, false) => -1,
            (false, true) => 1,
            _ => Math.Sign(string.CompareOrdinal(x, y)),
        };
    }
}
