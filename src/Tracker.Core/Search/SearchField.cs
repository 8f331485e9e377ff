namespace Tracker.Core.Search;

/// <summary>
/// How one field of a searchable entity is read off an item, turned once per parsed request into a row predicate
/// (for a filter clause) or a row comparison (for an order key), so that matching and sorting switch on nothing.
/// </summary>
internal abstract class SearchField<T>
{
    public abstract Func<T, bool> Predicate(ClauseMatcher matcher);

    /// <summary>Rows that lack the value sort last whichever the direction, as in MLflow's SQL stores.</summary>
    public abstract Comparison<T> Comparison(bool ascending);

    // Sign first: CompareOrdinal may return any int, and negating int.MinValue overflows.
    protected static int Directed(bool ascending, int comparison) => ascending ? Math.Sign(comparison) : -Math.Sign(comparison);
}

/// <summary>
/// A string field, compared ordinally unless the entity gives its own order (experiment ids sort as integers). A
/// missing value sorts last either way, unless <paramref name="nullsLowest"/>: then it sorts as the lowest value, first
/// ascending and last descending, as a plain SQLite ORDER BY puts NULL (MLflow's logged-model attributes).
/// </summary>
internal sealed class TextField<T>(Func<T, string?> read, IComparer<string>? order = null, bool nullsLowest = false) : SearchField<T>
{
    private readonly IComparer<string> order = order ?? StringComparer.Ordinal;

    public override Func<T, bool> Predicate(ClauseMatcher matcher) => item => matcher.Matches(read(item));

    public override Comparison<T> Comparison(bool ascending) => (x, y) => (read(x), read(y)) switch
    {
        (null, null) => 0,
        (null, _) => nullsLowest ? Directed(ascending, -1) : 1,
        (_, null) => nullsLowest ? Directed(ascending, 1) : -1,
        var (a, b) => Directed(ascending, order.Compare(a, b)),
    };
}

/// <summary>
/// A numeric field. Only metrics hold NaN or infinities; MLflow's SQL store keeps a NaN as 0 (with an is_nan flag it
/// does not filter on) and ±infinity as ±double.MaxValue, so filters see those values, while ordering puts NaN after
/// every real value and before rows missing the field, in both directions. With <paramref name="asLogged"/> the values
/// are taken as logged (MLflow's logged-model metrics table has no such mapping): filters see NaN and infinities as
/// they are, and ordering sorts NaN below every number, so first ascending and last-but-missing descending.
/// </summary>
internal sealed class NumberField<T>(Func<T, double?> read, bool asLogged = false) : SearchField<T>
{
    public override Func<T, bool> Predicate(ClauseMatcher matcher) => asLogged
        ? item => matcher.Matches(read(item))
        : item => matcher.Matches(AsStoredByMlflow(read(item)));

    public override Comparison<T> Comparison(bool ascending) => (x, y) =>
    {
        var a = read(x);
        var b = read(y);
        var rankA = Rank(a);
        var rankB = Rank(b);
        return rankA != rankB || rankA != 0 ? rankA.CompareTo(rankB) : Directed(ascending, a!.Value.CompareTo(b!.Value));
    };

    /// <summary>0 for a real value (NaN too when as logged), 1 for NaN, 2 for missing: placement that ignores the direction.</summary>
    private int Rank(double? value) => value is not { } v ? 2 : double.IsNaN(v) && !asLogged ? 1 : 0;

    private static double? AsStoredByMlflow(double? value) => value switch
    {
        double.NaN => 0,
        double.PositiveInfinity => double.MaxValue,
        double.NegativeInfinity => double.MinValue,
        _ => value,
    };
}

/// <summary>
/// A field with one value per element of a list (a run's dataset inputs): an item matches when any element does, as
/// MLflow's join does. Not orderable: MLflow sorts on no such field.
/// </summary>
internal sealed class AnyOfField<T, TElement>(Func<T, IReadOnlyList<TElement>> elements, Func<TElement, string?> read) : SearchField<T>
{
    public override Func<T, bool> Predicate(ClauseMatcher matcher) => item =>
    {
        var list = elements(item);
        for (var i = 0; i < list.Count; i++)
        {
            if (matcher.Matches(read(list[i])))
            {
                return true;
            }
        }

        return false;
    };

    public override Comparison<T> Comparison(bool ascending) =>
        throw new InvalidOperationException("The grammar admits no order key over a multi-valued field.");
}
