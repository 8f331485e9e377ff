namespace Tracker.Core.Search;

/// <summary>The entity table for <c>experiments/search</c> (spec §5.3; MLflow's <c>SearchExperimentsUtils</c>).</summary>
internal sealed class ExperimentSearchGrammar : SearchGrammar
{
    public static readonly ExperimentSearchGrammar Instance = new();

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
