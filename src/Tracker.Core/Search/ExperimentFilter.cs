namespace Tracker.Core.Search;

/// <summary>
/// <c>experiments/search</c> filters (spec §5.3): AND-ed clauses over <c>name</c>, <c>creation_time</c>,
/// <c>last_update_time</c> and experiment tags, parsed into the generic filter over the experiment field table.
/// </summary>
public static class ExperimentFilter
{
    /// <summary>The filter that matches every experiment (an empty or whitespace filter).</summary>
    public static SearchFilter<ISearchableExperiment> MatchAll => ExperimentSearchGrammar.Schema.MatchAll;

    /// <summary>Parses a filter; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when it is not valid.</summary>
    public static SearchFilter<ISearchableExperiment> Parse(string? filter) => ExperimentSearchGrammar.Schema.ParseFilter(filter);
}
