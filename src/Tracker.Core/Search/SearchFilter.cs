namespace Tracker.Core.Search;

/// <summary>
/// A parsed search filter over one entity (spec §5): AND-ed clauses, each turned once into a predicate by the entity's
/// <see cref="SearchSchema{T}"/>, evaluated the way MLflow's SQL store evaluates them (a missing value matches nothing).
/// </summary>
public sealed class SearchFilter<T>
    where T : class
{
    private readonly Func<T, bool>[] predicates;

    internal SearchFilter(IReadOnlyList<SearchClause> clauses, Func<T, bool>[] predicates)
    {
        Clauses = clauses;
        this.predicates = predicates;
    }

    /// <summary>The validated clauses, in filter order; a store may push simple ones down and still call <see cref="Matches"/>.</summary>
    public IReadOnlyList<SearchClause> Clauses { get; }

    public bool Matches(T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        foreach (var predicate in predicates)
        {
            if (!predicate(item))
            {
                return false;
            }
        }

        return true;
    }
}
