namespace Tracker.Core.Search;

/// <summary>
/// One validated <c>ident op value</c> clause. <see cref="Key"/> is canonical (aliases such as
/// <c>created</c> or <c>Run Name</c> already resolved), so a store can push the clause down as is.
/// </summary>
public sealed record SearchClause(SearchEntityType Entity, string Key, SearchComparator Comparator, SearchValue Value);

public enum SearchValueKind
{
    String,
    Number,
    List,
}

/// <summary>A clause's right-hand side: a string, a number, or a list of strings (IN / NOT IN).</summary>
public sealed record SearchValue
{
    private SearchValue(SearchValueKind kind, string text, double number, IReadOnlyList<string> items)
    {
        Kind = kind;
        Text = text;
        Number = number;
        Items = items;
    }

    public SearchValueKind Kind { get; }

    /// <summary>The string value, or the number's literal text as written; empty for lists.</summary>
    public string Text { get; }

    /// <summary>The numeric value when <see cref="Kind"/> is <see cref="SearchValueKind.Number"/>; otherwise 0.</summary>
    public double Number { get; }

    /// <summary>The list values when <see cref="Kind"/> is <see cref="SearchValueKind.List"/>; otherwise empty.</summary>
    public IReadOnlyList<string> Items { get; }

    public static SearchValue OfString(string value) => new(SearchValueKind.String, value, 0, []);

    public static SearchValue OfNumber(double value, string literal) => new(SearchValueKind.Number, literal, value, []);

    public static SearchValue OfList(IReadOnlyList<string> items) => new(SearchValueKind.List, "", 0, items);
}

/// <summary>One order_by key, canonical like <see cref="SearchClause.Key"/>.</summary>
public sealed record SearchOrderKey(SearchEntityType Entity, string Key, bool Ascending);
