namespace Tracker.Core.Search;

/// <summary>
/// A parsed sort order over one entity (spec §5): the requested keys and the entity's tie-breakers, each turned once
/// into a comparison by the entity's <see cref="SearchSchema{T}"/>.
/// </summary>
public sealed class SearchOrdering<T> : IComparer<T>
    where T : class
{
    private readonly Comparison<T>[] comparisons;

    internal SearchOrdering(IReadOnlyList<SearchOrderKey> keys, Comparison<T>[] comparisons)
    {
        Keys = keys;
        this.comparisons = comparisons;
    }

    /// <summary>The full key list, tie-breakers included.</summary>
    public IReadOnlyList<SearchOrderKey> Keys { get; }

    public int Compare(T? x, T? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        foreach (var comparison in comparisons)
        {
            var result = comparison(x, y);
            if (result != 0)
            {
                return result;
            }
        }

        return 0;
    }
}
