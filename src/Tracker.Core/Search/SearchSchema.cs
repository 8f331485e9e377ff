namespace Tracker.Core.Search;

/// <summary>
/// One searchable entity's field table for the generic <see cref="SearchFilter{T}"/> and <see cref="SearchOrdering{T}"/>:
/// its grammar, how each attribute and each keyed entity (tags, params, metrics, ...) is read off an item, its default
/// order, the tie-breakers MLflow appends to an explicit order, and whether a repeated order key is an error. Runs,
/// experiments, registered models, model versions and logged models each declare one; none has a matcher or comparer
/// of its own.
/// </summary>
internal sealed class SearchSchema<T>
    where T : class
{
    private readonly SearchGrammar grammar;
    private readonly Dictionary<string, SearchField<T>> attributes = new(StringComparer.Ordinal);
    private readonly Dictionary<SearchEntityType, Func<string, SearchField<T>>> keyed = [];
    private readonly List<(SearchOrderKey Key, bool Always)> tieBreakers = [];
    private bool rejectsRepeatedOrderKeys;

    public SearchSchema(SearchGrammar grammar)
    {
        this.grammar = grammar;
        MatchAll = new SearchFilter<T>([], []);
    }

    /// <summary>The filter that matches every item (an empty or whitespace filter).</summary>
    public SearchFilter<T> MatchAll { get; }

    /// <summary>The order when the request gives none.</summary>
    public SearchOrdering<T> DefaultOrder { get; private set; } = null!;

    /// <summary>A string attribute; <paramref name="nullsLowest"/>: a missing value sorts as the lowest, not last either way.</summary>
    public SearchSchema<T> Text(string key, Func<T, string?> read, IComparer<string>? order = null, bool nullsLowest = false) =>
        Attribute(key, new TextField<T>(read, order, nullsLowest));

    public SearchSchema<T> Number(string key, Func<T, double?> read) => Attribute(key, new NumberField<T>(read));

    /// <summary>An entity whose keys are the item's own (<c>tags.x</c>, <c>params.x</c>): a string per key, or none.</summary>
    public SearchSchema<T> KeyedText(SearchEntityType entity, Func<T, string, string?> read)
    {
        keyed[entity] = key => new TextField<T>(item => read(item, key));
        return this;
    }

    /// <summary>
    /// An entity whose keys are the item's own and whose values are numbers (<c>metrics.x</c>); <paramref name="asLogged"/>:
    /// NaN and infinities are seen as logged, not as MLflow's runs table stores them (see <see cref="NumberField{T}"/>).
    /// </summary>
    public SearchSchema<T> KeyedNumber(SearchEntityType entity, Func<T, string, double?> read, bool asLogged = false)
    {
        keyed[entity] = key => new NumberField<T>(item => read(item, key), asLogged);
        return this;
    }

    /// <summary>An entity with a fixed set of keys read off each element of a list (a run's dataset inputs).</summary>
    public SearchSchema<T> KeyedAnyOf<TElement>(
        SearchEntityType entity, Func<T, IReadOnlyList<TElement>> elements, Func<string, Func<TElement, string?>> readKey)
    {
        keyed[entity] = key => new AnyOfField<T, TElement>(elements, readKey(key));
        return this;
    }

    public SearchSchema<T> OrderByDefault(params SearchOrderKey[] keys)
    {
        DefaultOrder = Build(keys);
        return this;
    }

    /// <summary>Appended to an explicit order; unless <paramref name="always"/>, only when the order does not use that key yet.</summary>
    public SearchSchema<T> ThenBy(SearchOrderKey key, bool always = false)
    {
        tieBreakers.Add((key, always));
        return this;
    }

    /// <summary>MLflow's SQL stores reject an order_by naming one field twice (runs, registered models, model versions).</summary>
    public SearchSchema<T> RejectingRepeatedOrderKeys()
    {
        rejectsRepeatedOrderKeys = true;
        return this;
    }

    /// <summary>The validated clauses of a filter; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when it is not valid.</summary>
    public IReadOnlyList<SearchClause> ParseClauses(string? filter) => grammar.ParseFilter(filter);

    public SearchFilter<T> ParseFilter(string? filter) => Filter(ParseClauses(filter));

    public SearchFilter<T> Filter(IReadOnlyList<SearchClause> clauses) => clauses.Count == 0
        ? MatchAll
        : new SearchFilter<T>(clauses, clauses.Select(c => Field(c.Entity, c.Key).Predicate(new ClauseMatcher(c))).ToArray());

    /// <summary>Parses <c>order_by</c> elements; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when one is not valid.</summary>
    public SearchOrdering<T> ParseOrderBy(IReadOnlyList<string>? orderBy)
    {
        if (orderBy is null || orderBy.Count == 0)
        {
            return DefaultOrder;
        }

        if (orderBy.Count > SearchLimits.MaxOrderByClauses)
        {
            throw MlflowException.InvalidParameter(
                $"order_by has {orderBy.Count} elements, the maximum is {SearchLimits.MaxOrderByClauses}.");
        }

        var keys = new List<SearchOrderKey>();
        foreach (var element in orderBy)
        {
            var key = grammar.ParseOrderBy(element ?? "");
            if (rejectsRepeatedOrderKeys && keys.Any(k => SameField(k, key)))
            {
                // MLflow's SQL stores raise this as a 500 (so clients retry it); a 400 is what it means.
                throw MlflowException.InvalidParameter($"`order_by` contains duplicate fields: {PythonList(orderBy)}");
            }

            keys.Add(key);
        }

        return Ordering(keys);
    }

    /// <summary>
    /// The order of keys the caller has already parsed and validated (logged-models/search takes a structured order_by,
    /// not strings), followed by the tie-breakers; no keys is the default order.
    /// </summary>
    public SearchOrdering<T> Ordering(IReadOnlyList<SearchOrderKey> keys)
    {
        if (keys.Count == 0)
        {
            return DefaultOrder;
        }

        var all = keys.ToList();
        foreach (var (key, always) in tieBreakers)
        {
            if (always || !all.Any(k => SameField(k, key)))
            {
                all.Add(key);
            }
        }

        return Build(all);
    }

    private SearchOrdering<T> Build(IReadOnlyList<SearchOrderKey> keys) =>
        new(keys, keys.Select(k => Field(k.Entity, k.Key).Comparison(k.Ascending)).ToArray());

    private SearchField<T> Field(SearchEntityType entity, string key)
    {
        // The grammar admits only what the table declares; a miss here is a defect in the entity's declaration.
        if (entity == SearchEntityType.Attribute)
        {
            return attributes.TryGetValue(key, out var field)
                ? field
                : throw new InvalidOperationException($"No search field for attribute '{key}'.");
        }

        return keyed.TryGetValue(entity, out var make) ? make(key) : throw new InvalidOperationException($"No search field for {entity}.");
    }

    private SearchSchema<T> Attribute(string key, SearchField<T> field)
    {
        attributes[key] = field;
        return this;
    }

    private static bool SameField(SearchOrderKey a, SearchOrderKey b) => a.Entity == b.Entity && a.Key == b.Key;

    private static string PythonList(IReadOnlyList<string> items) => "[" + string.Join(", ", items.Select(i => $"'{i}'")) + "]";
}
