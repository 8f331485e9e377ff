using System.Globalization;

namespace Tracker.Core.Search;

/// <summary>The entity table for <c>experiments/search</c> (spec §5.3; MLflow's <c>SearchExperimentsUtils</c>).</summary>
internal sealed class ExperimentSearchGrammar : SearchGrammar
{
    public static readonly ExperimentSearchGrammar Instance = new();

    /// <summary>
    /// The experiment fields. Experiment ids compare as integers, as in MLflow's SQL store where the column is an
    /// integer ("10" after "9"). MLflow does not reject a repeated order key here (unlike runs); neither do we.
    /// </summary>
    public static readonly SearchSchema<ISearchableExperiment> Schema = new SearchSchema<ISearchableExperiment>(Instance)
        .Text("name", e => e.Name)
        .Text("experiment_id", e => e.ExperimentId, ExperimentIdOrder.Instance)
        .Number("creation_time", e => e.CreationTime)
        .Number("last_update_time", e => e.LastUpdateTime)
        .KeyedText(SearchEntityType.Tag, (e, key) => e.Tags.TryGetValue(key, out var value) ? value : null)
        .OrderByDefault(
            new SearchOrderKey(SearchEntityType.Attribute, "creation_time", Ascending: false),
            new SearchOrderKey(SearchEntityType.Attribute, "experiment_id", Ascending: true))
        .ThenBy(new SearchOrderKey(SearchEntityType.Attribute, "experiment_id", Ascending: false));

    private static readonly string[] FilterAttributeKeys = ["name", "creation_time", "last_update_time"];
    private static readonly string[] OrderByAttributeKeys = ["name", "experiment_id", "creation_time", "last_update_time"];

    private ExperimentSearchGrammar()
    {
    }

    protected override (SearchEntityType Entity, string Key) ResolveIdentifier(SyntaxIdentifier identifier, bool forOrderBy)
    {
        var entity = SearchEntityType.Attribute;
        var key = identifier.Segments[0].Content;
        if (identifier.Segments.Count > 1)
        {
            // Unlike runs, the prefix is checked as written: no plural "attributes.", no backticks.
            var entityText = identifier.Segments[0].Text;
            entity = entityText switch
            {
                "attribute" => SearchEntityType.Attribute,
                "tag" or "tags" => SearchEntityType.Tag,
                _ => throw MlflowException.InvalidParameter(
                    $"Invalid entity type '{Echo.Truncate(entityText)}'. Valid entity types are ('attribute', 'tag', 'tags')"),
            };
            key = identifier.KeyAfterEntity;
        }

        if (entity == SearchEntityType.Attribute)
        {
            var shown = forOrderBy ? OrderByAttributeKeys : FilterAttributeKeys;
            Require(shown.Contains(key, StringComparer.Ordinal),
                $"Invalid attribute key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet(shown)}'");
        }

        return (entity, key);
    }

    protected override bool IsNumericAttribute(string key) => key is "creation_time" or "last_update_time";

    protected override void ValidateComparator(SearchEntityType entity, string key, string comparator)
    {
        // MLflow's experiment store wants LIKE / ILIKE upper-case; the parser has already upper-cased
        // keywords, which spec §5.3 allows.
        if (entity == SearchEntityType.Tag)
        {
            Require(IsOneOf(comparator, StringComparators), $"Invalid comparator for tag: {comparator}");
        }
        else if (IsNumericAttribute(key))
        {
            Require(IsOneOf(comparator, NumericComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{NumericComparatorSet}");
        }
        else
        {
            // IN passes this check as in MLflow, but a list value for name is refused earlier ("Only the 'run_id' ...").
            Require(IsOneOf(comparator, StringAndListComparators),
                $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{StringAttributeComparatorSet}'");
        }
    }

    protected override SearchOrderKey ValidateOrderKey(SearchOrderKey key)
    {
        Require(key.Entity == SearchEntityType.Attribute, $"Invalid order_by entity: {EntityName(key.Entity)}");
        return key;
    }
}

/// <summary>Numerically; a non-numeric id (never issued by Tracker) sorts after numeric ones, ordinally.</summary>
internal sealed class ExperimentIdOrder : IComparer<string>
{
    public static readonly ExperimentIdOrder Instance = new();

    public int Compare(string? x, string? y)
    {
        var xIsNumber = long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var nx);
        var yIsNumber = long.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out var ny);
        return (xIsNumber, yIsNumber) switch
        {
            (true, true) => nx.CompareTo(ny),
            (true, false) => -1,
            (false, true) => 1,
            _ => string.CompareOrdinal(x, y),
        };
    }
}
