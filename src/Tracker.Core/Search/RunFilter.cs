namespace Tracker.Core.Search;

/// <summary>
/// A parsed <c>runs/search</c> filter (spec §5.2): AND-ed clauses over metrics, params, tags, run
/// attributes and dataset inputs, evaluated the way MLflow's SQL store evaluates them.
/// </summary>
public sealed class RunFilter
{
    private readonly ClauseMatcher[] matchers;

    private RunFilter(IReadOnlyList<SearchClause> clauses)
    {
        Clauses = clauses;
        matchers = clauses.Select(c => new ClauseMatcher(c)).ToArray();
    }

    /// <summary>The filter that matches every run (an empty or whitespace filter).</summary>
    public static RunFilter MatchAll { get; } = new([]);

    /// <summary>The validated clauses, in filter order; a store may push simple ones down and still call <see cref="Matches"/>.</summary>
    public IReadOnlyList<SearchClause> Clauses { get; }

    /// <summary>Parses a filter; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when it is not valid.</summary>
    public static RunFilter Parse(string? filter)
    {
        var clauses = RunSearchGrammar.Instance.ParseFilter(filter);
        return clauses.Count == 0 ? MatchAll : new RunFilter(clauses);
    }

    public bool Matches(ISearchableRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        foreach (var matcher in matchers)
        {
            if (!Matches(run, matcher))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Matches(ISearchableRun run, ClauseMatcher matcher)
    {
        var clause = matcher.Clause;
        var key = clause.Key;
        switch (clause.Entity)
        {
            case SearchEntityType.Metric:
                return run.LatestMetrics.TryGetValue(key, out var metric) && matcher.Matches(AsStoredByMlflow(metric));
            case SearchEntityType.Param:
                return run.Params.TryGetValue(key, out var param) && matcher.Matches(param);
            case SearchEntityType.Tag:
                return run.Tags.TryGetValue(key, out var tag) && matcher.Matches(tag);
            case SearchEntityType.Dataset:
                // Several inputs: the run matches when any one of them does (MLflow joins the inputs).
                foreach (var dataset in run.Datasets)
                {
                    var value = key switch
                    {
                        "name" => dataset.Name,
                        "digest" => dataset.Digest,
                        _ => dataset.Context,
                    };
                    if (matcher.Matches(value))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return key switch
                {
                    "start_time" => matcher.Matches(run.StartTime),
                    "end_time" => matcher.Matches(run.EndTime),
                    "run_id" => matcher.Matches(run.RunId),
                    "run_name" => matcher.Matches(run.RunName),
                    "status" => matcher.Matches(run.Status),
                    "user_id" => matcher.Matches(run.UserId),
                    _ => matcher.Matches(run.ArtifactUri),
                };
        }
    }

    /// <summary>
    /// MLflow's SQL store keeps a NaN metric as value 0 with an is_nan flag and filters on the value,
    /// so <c>metrics.m = 0</c> matches a NaN (a quirk we copy for identical results). It also stores
    /// ±infinity as ±double.MaxValue, which only matters for <c>=</c> against that exact literal.
    /// </summary>
    private static double AsStoredByMlflow(double value) => value switch
    {
        double.NaN => 0,
        double.PositiveInfinity => double.MaxValue,
        double.NegativeInfinity => double.MinValue,
        _ => value,
    };
}
