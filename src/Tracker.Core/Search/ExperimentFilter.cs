namespace Tracker.Core.Search;

/// <summary>
/// A parsed <c>experiments/search</c> filter (spec §5.3): AND-ed clauses over <c>name</c>,
/// <c>creation_time</c>, <c>last_update_time</c> and experiment tags.
/// </summary>
public sealed class ExperimentFilter
{
    private readonly ClauseMatcher[] matchers;

    private ExperimentFilter(IReadOnlyList<SearchClause> clauses)
    {
        Clauses = clauses;
        matchers = clauses.Select(c => new ClauseMatcher(c)).ToArray();
    }

    /// <summary>The filter that matches every experiment (an empty or whitespace filter).</summary>
    public static ExperimentFilter MatchAll { get; } = new([]);

    /// <summary>The validated clauses, in filter order.</summary>
    public IReadOnlyList<SearchClause> Clauses { get; }

    /// <summary>Parses a filter; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when it is not valid.</summary>
    public static ExperimentFilter Parse(string? filter)
    {
        var clauses = ExperimentSearchGrammar.Instance.ParseFilter(filter);
        return clauses.Count == 0 ? MatchAll : new ExperimentFilter(clauses);
    }

    public bool Matches(ISearchableExperiment experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        foreach (var matcher in matchers)
        {
            var clause = matcher.Clause;
            var matched = clause.Entity == SearchEntityType.Tag
                // Only experiments that have the tag can match, as for runs.
                ? experiment.Tags.TryGetValue(clause.Key, out var tag) && matcher.Matches(tag)
                : clause.Key switch
                {
                    "creation_time" => matcher.Matches(experiment.CreationTime),
                    "last_update_time" => matcher.Matches(experiment.LastUpdateTime),
                    _ => matcher.Matches(experiment.Name),
                };
            if (!matched)
            {
                return false;
            }
        }

        return true;
    }
}
