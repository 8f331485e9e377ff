namespace Tracker.Core.Search;

/// <summary>
/// Caps on client-supplied search input. MLflow has none; filters reach us from untrusted clients,
/// so every cap here bounds the work one request can cause (tokens, clauses, LIKE comparisons).
/// </summary>
public static class SearchLimits
{
    /// <summary>
    /// Longest accepted filter string, in UTF-16 code units. 16 KiB still fits an
    /// <c>attributes.run_id IN (...)</c> list of about 450 run ids.
    /// </summary>
    public const int MaxFilterLength = 16 * 1024;

    /// <summary>Most values one <c>IN</c> / <c>NOT IN</c> list may hold.</summary>
    public const int MaxInListValues = 1000;

    /// <summary>Most <c>order_by</c> elements one request may carry.</summary>
    public const int MaxOrderByClauses = 100;

    /// <summary>Longest accepted single <c>order_by</c> element (keys are at most 250 characters).</summary>
    public const int MaxOrderByClauseLength = 1024;
}
