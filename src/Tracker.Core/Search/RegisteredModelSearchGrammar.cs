using Tracker.Core.Registry;

namespace Tracker.Core.Search;

/// <summary>
/// The entity table for <c>registered-models/search</c> (spec §5.4; MLflow's <c>SearchModelUtils</c> and the SQL
/// registry store): filter on <c>name</c> and tags; order by <c>name</c>, <c>timestamp</c> or
/// <c>last_updated_timestamp</c> (both mean last-updated time), then <c>name ASC</c>.
/// </summary>
internal sealed class RegisteredModelSearchGrammar : RegistrySearchGrammar
{
    public static readonly RegisteredModelSearchGrammar Instance = new();

    private static readonly SearchOrderKey NameAscending = new(SearchEntityType.Attribute, "name", Ascending: true);

    public static readonly SearchSchema<RegisteredModel> Schema = new SearchSchema<RegisteredModel>(Instance)
        .Text("name", m => m.Name)
        .Number("last_updated_timestamp", m => m.LastUpdatedTimestamp)
        .KeyedText(SearchEntityType.Tag, (m, key) => TagValue(m.Tags, key))
        .OrderByDefault(NameAscending)
        .ThenBy(NameAscending)
        .RejectingRepeatedOrderKeys();

    private static readonly string[] OrderByKeys = ["name", "timestamp", "last_updated_timestamp"];

    private RegisteredModelSearchGrammar()
        : base("name")
    {
    }

    // Nothing numeric is filterable on a registered model.
    protected override bool IsNumericAttribute(string key) => false;

    protected override string CanonicalKey(SearchEntityType entity, string key) => key == "timestamp" ? "last_updated_timestamp" : key;

    protected override (SearchEntityType Entity, string Key) ResolveOrderIdentifier(SyntaxIdentifier identifier)
    {
        // SearchUtils.parse_order_by_for_search_registered_models: the whole identifier is the key, with no prefix;
        // its message recommends two of the three keys.
        var key = string.Join('.', identifier.Segments.Select(s => s.Content));
        Require(OrderByKeys.Contains(key, StringComparer.Ordinal),
            $"Invalid order by key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet("name", "timestamp")}'");
        return (SearchEntityType.Attribute, key);
    }

    protected override SearchValue ResolveValue(SearchEntityType entity, string key, SyntaxValue value)
    {
        if (entity == SearchEntityType.Tag)
        {
            return base.ResolveValue(entity, key, value);
        }

        if (value.Kind == SyntaxValueKind.List)
        {
            // Copied from runs upstream: no registered-model attribute takes a list.
            Require(key == "run_id", "Only the 'run_id' attribute supports comparison with a list of quoted string values.");
        }

        Require(value.Kind != SyntaxValueKind.Number,
            $"Expected a quoted string value or a list of quoted string values for attributes. Got value {Echo.Truncate(value.Text)}");
        return QuotedString(value);
    }

    protected override void ValidateAttributeComparator(string key, string comparator) =>
        Require(IsOneOf(comparator, StringAndListComparators), $"Invalid comparator for attribute: {Echo.Truncate(comparator)}");
}
