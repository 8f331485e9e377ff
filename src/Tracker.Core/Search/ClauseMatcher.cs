namespace Tracker.Core.Search;

/// <summary>
/// One clause's comparison, prepared once per filter (LIKE pattern folded, IN list hashed) so that
/// matching a row does no allocation. Strings compare ordinally (case-sensitive), as in MLflow's SQL store.
/// </summary>
internal sealed class ClauseMatcher
{
    private readonly SearchClause clause;
    private readonly SqlLikePattern? like;
    private readonly HashSet<string>? set;

    public ClauseMatcher(SearchClause clause)
    {
        this.clause = clause;
        like = clause.Comparator switch
        {
            SearchComparator.Like => new SqlLikePattern(clause.Value.Text, ignoreCase: false),
            SearchComparator.ILike => new SqlLikePattern(clause.Value.Text, ignoreCase: true),
            _ => null,
        };
        if (clause.Value.Kind == SearchValueKind.List)
        {
            set = new HashSet<string>(clause.Value.Items, StringComparer.Ordinal);
        }
    }

    public SearchClause Clause => clause;

    /// <summary>A missing value (null) never matches, whatever the comparator: SQL NULL semantics.</summary>
    public bool Matches(string? value)
    {
        if (value is null)
        {
            return false;
        }

        return clause.Comparator switch
        {
            SearchComparator.Equal => string.Equals(value, clause.Value.Text, StringComparison.Ordinal),
            SearchComparator.NotEqual => !string.Equals(value, clause.Value.Text, StringComparison.Ordinal),
            SearchComparator.Like or SearchComparator.ILike => like!.IsMatch(value),
            SearchComparator.In => set!.Contains(value),
            SearchComparator.NotIn => !set!.Contains(value),
            _ => false,
        };
    }

    public bool Matches(double? value)
    {
        if (value is not { } v)
        {
            return false;
        }

        var target = clause.Value.Number;
        return clause.Comparator switch
        {
            SearchComparator.Equal => v == target,
            SearchComparator.NotEqual => v != target,
            SearchComparator.GreaterThan => v > target,
            SearchComparator.GreaterThanOrEqual => v >= target,
            SearchComparator.LessThan => v < target,
            SearchComparator.LessThanOrEqual => v <= target,
            _ => false,
        };
    }
}
