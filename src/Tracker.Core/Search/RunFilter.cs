namespace Tracker.Core.Search;

/// <summary>
/// <c>runs/search</c> filters (spec §5.2): AND-ed clauses over metrics, params, tags, run attributes and dataset
/// inputs, parsed into the generic filter over the run field table.
/// </summary>
public static class RunFilter
{
    /// <summary>The filter that matches every run (an empty or whitespace filter).</summary>
    public static SearchFilter<ISearchableRun> MatchAll => RunSearchGrammar.Schema.MatchAll;

    /// <summary>Parses a filter; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when it is not valid.</summary>
    public static SearchFilter<ISearchableRun> Parse(string? filter) => RunSearchGrammar.Schema.ParseFilter(filter);
}
