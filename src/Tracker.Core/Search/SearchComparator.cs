namespace Tracker.Core.Search;

/// <summary>The comparators the search grammar accepts; which apply to which key is up to each entity table.</summary>
public enum SearchComparator
{
    Equal,
    NotEqual,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    /// <summary>SQL LIKE, case-sensitive (MLflow turns on <c>case_sensitive_like</c>).</summary>
    Like,
    /// <summary>SQL LIKE, case-insensitive.</summary>
    ILike,
    In,
    NotIn,
}
