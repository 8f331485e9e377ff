namespace Tracker.Core.Search;

/// <summary>
/// The <c>experiments/search</c> sort order (spec §5.3): default <c>creation_time DESC, experiment_id ASC</c>; an
/// explicit order gets MLflow's tie-breaker <c>experiment_id DESC</c> unless it already orders on experiment_id.
/// </summary>
public static class ExperimentOrdering
{
    public static SearchOrdering<ISearchableExperiment> Default => ExperimentSearchGrammar.Schema.DefaultOrder;

    /// <summary>Parses <c>order_by</c> elements; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when one is not valid.</summary>
    public static SearchOrdering<ISearchableExperiment> Parse(IReadOnlyList<string>? orderBy) =>
        ExperimentSearchGrammar.Schema.ParseOrderBy(orderBy);
}
