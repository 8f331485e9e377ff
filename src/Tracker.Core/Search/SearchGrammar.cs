using System.Globalization;

namespace Tracker.Core.Search;

/// <summary>
/// An entity table for the shared filter / order_by syntax: which prefixes, keys, comparators and
/// value types one searchable resource accepts, and MLflow's wording when they are wrong. Runs and
/// experiments have one each; registered models and model versions can add theirs without another
/// parser. Value typing is common to all (MLflow's <c>SearchUtils._get_value</c>).
/// </summary>
internal abstract class SearchGrammar
{
    // The comparator sets as MLflow prints them in errors (Python set reprs). The metric one was
    // recorded from a real 2.10.2 server; Python's set order is per process, so the others are ours.
    protected const string NumericComparatorSet = "{'=', '>', '>=', '<', '!=', '<='}";
    protected const string ParamComparatorSet = "{'=', '!=', 'LIKE', 'ILIKE'}";
    protected const string StringAttributeComparatorSet = "{'=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}";
    protected const string DatasetComparatorSet = StringAttributeComparatorSet;

    protected static readonly IReadOnlySet<SearchComparator> NumericComparators = new HashSet<SearchComparator>
    {
        SearchComparator.Equal, SearchComparator.NotEqual, SearchComparator.GreaterThan,
        SearchComparator.GreaterThanOrEqual, SearchComparator.LessThan, SearchComparator.LessThanOrEqual,
    };

    protected static readonly IReadOnlySet<SearchComparator> StringComparators = new HashSet<SearchComparator>
    {
        SearchComparator.Equal, SearchComparator.NotEqual, SearchComparator.Like, SearchComparator.ILike,
    };

    protected static readonly IReadOnlySet<SearchComparator> StringAndListComparators = new HashSet<SearchComparator>
    {
        SearchComparator.Equal, SearchComparator.NotEqual, SearchComparator.Like, SearchComparator.ILike,
        SearchComparator.In, SearchComparator.NotIn,
    };

    public IReadOnlyList<SearchClause> ParseFilter(string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return [];
        }

        if (filter.Length > SearchLimits.MaxFilterLength)
        {
            throw MlflowException.InvalidParameter(
                $"Filter string is too long: {filter.Length} characters, the maximum is {SearchLimits.MaxFilterLength}.");
        }

        return FilterSyntaxParser.ParseFilter(filter).Select(ResolveClause).ToList();
    }

    public SearchOrderKey ParseOrderBy(string orderBy)
    {
        if (orderBy.Length > SearchLimits.MaxOrderByClauseLength)
        {
            throw MlflowException.InvalidParameter(
                $"order_by clause is too long: {orderBy.Length} characters, the maximum is {SearchLimits.MaxOrderByClauseLength}.");
        }

        var syntax = FilterSyntaxParser.TryParseOrderBy(orderBy, out var badDirection)
            ?? throw MlflowException.InvalidParameter(badDirection
                ? $"Invalid ordering key in order_by clause '{Echo.Truncate(orderBy)}'."
                : $"Invalid order_by clause '{Echo.Truncate(orderBy)}'. Could not be parsed.");
        var (entity, key) = ResolveIdentifier(syntax.Identifier, forOrderBy: true);
        return ValidateOrderKey(new SearchOrderKey(entity, CanonicalKey(entity, key), syntax.Ascending));
    }

    /// <summary>Entity and key as written (aliases not yet resolved); throws for unknown prefixes or keys.</summary>
    protected abstract (SearchEntityType Entity, string Key) ResolveIdentifier(SyntaxIdentifier identifier, bool forOrderBy);

    /// <summary>Whether an attribute key (alias or canonical) takes numbers.</summary>
    protected abstract bool IsNumericAttribute(string key);

    /// <summary>Checks the comparator against the (canonical) key; throws with MLflow's message when it does not apply.</summary>
    protected abstract void ValidateComparator(SearchEntityType entity, string key, string comparator);

    protected virtual string CanonicalKey(SearchEntityType entity, string key) => key;

    protected virtual SearchOrderKey ValidateOrderKey(SearchOrderKey key) => key;

    /// <summary>Last step of a clause, after its comparator is known good: a value the store would convert (MLflow's int()).</summary>
    protected virtual SearchValue ConvertValue(SearchEntityType entity, string key, SearchValue value) => value;

    protected static string EntityName(SearchEntityType entity) => entity switch
    {
        SearchEntityType.Metric => "metric",
        SearchEntityType.Param => "parameter",
        SearchEntityType.Tag => "tag",
        SearchEntityType.Attribute => "attribute",
        _ => "dataset",
    };

    /// <summary>Renders names the way Python prints a set, which is what MLflow's messages embed.</summary>
    protected static string PythonSet(params string[] items) => "{" + string.Join(", ", items.Select(i => $"'{i}'")) + "}";

    protected static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw MlflowException.InvalidParameter(message);
        }
    }

    private SearchClause ResolveClause(SyntaxClause clause)
    {
        var (entity, key) = ResolveIdentifier(clause.Identifier, forOrderBy: false);
        var value = ResolveValue(entity, key, clause.Value);
        key = CanonicalKey(entity, key);
        ValidateComparator(entity, key, clause.Comparator);
        var comparator = ToComparator(clause.Comparator);

        var isListComparator = comparator is SearchComparator.In or SearchComparator.NotIn;
        Require(isListComparator == (value.Kind == SearchValueKind.List),
            $"Invalid comparator '{clause.Comparator}' for a list of values: use IN or NOT IN.");
        return new SearchClause(entity, key, comparator, ConvertValue(entity, key, value));
    }

    /// <summary>A clause's value typed for its (not yet canonical) key; throws with MLflow's message when the type is wrong.</summary>
    protected virtual SearchValue ResolveValue(SearchEntityType entity, string key, SyntaxValue value)
    {
        switch (entity)
        {
            case SearchEntityType.Metric:
                Require(value.Kind == SyntaxValueKind.Number, $"Expected numeric value type for metric. Found {value.Text}");
                return Number(value);

            case SearchEntityType.Param:
            case SearchEntityType.Tag:
                Require(value.Kind is SyntaxValueKind.String or SyntaxValueKind.Bare,
                    $"Expected a quoted string value for {EntityName(entity)} (e.g. 'my-value'). Got value {value.Text}");
                return QuotedString(value);

            case SearchEntityType.Attribute when IsNumericAttribute(key):
                Require(value.Kind == SyntaxValueKind.Number,
                    $"Expected numeric value type for numeric attribute: {key}. Found {value.Text}");
                return Number(value);

            case SearchEntityType.Attribute:
                if (value.Kind == SyntaxValueKind.List)
                {
                    Require(key == "run_id", "Only the 'run_id' attribute supports comparison with a list of quoted string values.");
                    return List(value);
                }

                Require(value.Kind != SyntaxValueKind.Number, $"Expected a quoted string value for attributes. Got value {value.Text}");
                return QuotedString(value);

            default:
                if (value.Kind == SyntaxValueKind.List)
                {
                    return List(value);
                }

                Require(value.Kind != SyntaxValueKind.Number,
                    $"Expected a quoted string value for dataset attributes. Got value {value.Text}");
                return QuotedString(value);
        }
    }

    protected static SearchValue Number(SyntaxValue value) =>
        SearchValue.OfNumber(double.Parse(value.Content, NumberStyles.Float, CultureInfo.InvariantCulture), value.Content);

    protected static SearchValue QuotedString(SyntaxValue value)
    {
        Require(value.Kind == SyntaxValueKind.String,
            $"Parameter value is either not quoted or unidentified quote types used for string value {value.Text}. Use either single or double quotes.");
        return SearchValue.OfString(value.Content);
    }

    /// <summary>
    /// MLflow's <c>_parse_run_ids</c>: a non-empty list of single-quoted strings (a Python tuple, so
    /// one trailing comma is fine). Values that are not all-lowercase are dropped: MLflow does so because
    /// run ids are lowercase hex and MySQL's IN ignores case; it applies the same parser to dataset lists.
    /// </summary>
    protected static SearchValue List(SyntaxValue value)
    {
        var tokens = value.ListTokens;
        Require(tokens.Count > 0,
            "While parsing a list in the query, expected a non-empty list of string values, but got empty list");
        Require(tokens.All(t => t.Kind is FilterTokenKind.SingleQuoted or FilterTokenKind.Comma),
            $"While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: {value.Text}");

        var items = new List<string>();
        for (var i = 0; i < tokens.Count; i += 2)
        {
            var wellFormed = tokens[i].Kind == FilterTokenKind.SingleQuoted
                && (i + 1 == tokens.Count || tokens[i + 1].Kind == FilterTokenKind.Comma);
            Require(wellFormed,
                "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.");
            items.Add(tokens[i].Content);
        }

        Require(items.Count <= SearchLimits.MaxInListValues,
            $"IN list has {items.Count} values, the maximum is {SearchLimits.MaxInListValues}.");
        return SearchValue.OfList(items.Where(IsPythonLower).ToList());
    }

    /// <summary>Python's <c>str.islower()</c>: at least one cased character and none upper- or title-case.</summary>
    internal static bool IsPythonLower(string value)
    {
        var sawLower = false;
        foreach (var c in value)
        {
            if (char.IsUpper(c) || char.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter)
            {
                return false;
            }

            sawLower |= char.IsLower(c);
        }

        return sawLower;
    }

    private static SearchComparator ToComparator(string comparator) => comparator switch
    {
        "=" => SearchComparator.Equal,
        "!=" => SearchComparator.NotEqual,
        ">" => SearchComparator.GreaterThan,
        ">=" => SearchComparator.GreaterThanOrEqual,
        "<" => SearchComparator.LessThan,
        "<=" => SearchComparator.LessThanOrEqual,
        "LIKE" => SearchComparator.Like,
        "ILIKE" => SearchComparator.ILike,
        "IN" => SearchComparator.In,
        "NOT IN" => SearchComparator.NotIn,
        // ValidateComparator has already rejected everything else.
        _ => throw new InvalidOperationException($"Unvalidated comparator '{comparator}'."),
    };

    /// <summary>Maps a comparator as written to the enum, or null when it is no comparator at all (<c>&lt;&gt;</c>, <c>&gt;&gt;&gt;</c>).</summary>
    protected static SearchComparator? TryComparator(string comparator) => comparator switch
    {
        "=" or "!=" or ">" or ">=" or "<" or "<=" or "LIKE" or "ILIKE" or "IN" or "NOT IN" => ToComparator(comparator),
        _ => null,
    };

    protected static bool IsOneOf(string comparator, IReadOnlySet<SearchComparator> allowed) =>
        TryComparator(comparator) is { } c && allowed.Contains(c);
}
