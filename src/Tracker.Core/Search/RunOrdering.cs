namespace Tracker.Core.Search;

/// <summary>
/// The <c>runs/search</c> sort order (spec §5.2), matching MLflow's SQL store: per key, rows with a value come first
/// (in the requested direction), then NaN metrics, then rows missing the key, in both directions; ties fall through to
/// <c>start_time DESC</c> (unless already ordered on) and then <c>run_id ASC</c>. A repeated key is an error.
/// </summary>
public static class RunOrdering
{
    /// <summary><c>start_time DESC, run_id ASC</c>.</summary>
    public static SearchOrdering<ISearchableRun> Default => RunSearchGrammar.Schema.DefaultOrder;

    /// <summary>Parses <c>order_by</c> elements; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when one is not valid.</summary>
    public static SearchOrdering<ISearchableRun> Parse(IReadOnlyList<string>? orderBy) => RunSearchGrammar.Schema.ParseOrderBy(orderBy);
}
