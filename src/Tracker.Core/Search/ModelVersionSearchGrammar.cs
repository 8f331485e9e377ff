using System.Globalization;
using Tracker.Core.Registry;

namespace Tracker.Core.Search;

/// <summary>
/// The entity table for <c>model-versions/search</c> (spec §5.5; MLflow's <c>SearchModelVersionUtils</c> and the SQL
/// registry store): filter on <c>name</c>, <c>run_id</c> (also <c>IN</c>), <c>source_path</c> (the source),
/// <c>version_number</c> (numeric) and the version's tags; order by <c>name</c>, <c>version_number</c>,
/// <c>creation_timestamp</c>, <c>last_updated_timestamp</c>, then <c>name ASC</c>, <c>version_number DESC</c>.
/// </summary>
internal sealed class ModelVersionSearchGrammar : RegistrySearchGrammar
{
    public static readonly ModelVersionSearchGrammar Instance = new();

    private static readonly SearchOrderKey NameAscending = new(SearchEntityType.Attribute, "name", Ascending: true);
    private static readonly SearchOrderKey VersionDescending = new(SearchEntityType.Attribute, "version_number", Ascending: false);

    public static readonly SearchSchema<ModelVersion> Schema = new SearchSchema<ModelVersion>(Instance)
        .Text("name", v => v.Name)
        .Text("run_id", v => v.RunId)
        .Text("source_path", v => v.Source)
        .Number("version_number", v => v.Version)
        .Number("creation_timestamp", v => v.CreationTimestamp)
        .Number("last_updated_timestamp", v => v.LastUpdatedTimestamp)
        .KeyedText(SearchEntityType.Tag, (v, key) => TagValue(v.Tags, key))
        .OrderByDefault(new SearchOrderKey(SearchEntityType.Attribute, "last_updated_timestamp", Ascending: false), NameAscending, VersionDescending)
        .ThenBy(NameAscending)
        .ThenBy(VersionDescending)
        .RejectingRepeatedOrderKeys();

    private static readonly string[] OrderByKeys = ["name", "version_number", "creation_timestamp", "last_updated_timestamp"];

    // MLflow's NUMERIC_ATTRIBUTES, of which only version_number is filterable; its message names all three.
    private static readonly string[] NumericKeys = ["version_number", "creation_timestamp", "last_updated_timestamp"];

    private static readonly IReadOnlySet<SearchComparator> StringAttributeComparators = new HashSet<SearchComparator>
    {
        // No NOT IN: MLflow's model-version store accepts IN only.
        SearchComparator.Equal, SearchComparator.NotEqual, SearchComparator.Like, SearchComparator.ILike, SearchComparator.In,
    };

    private ModelVersionSearchGrammar()
        : base("name", "version_number", "run_id", "source_path")
    {
    }

    protected override bool IsNumericAttribute(string key) => key == "version_number";

    protected override (SearchEntityType Entity, string Key) ResolveOrderIdentifier(SyntaxIdentifier identifier)
    {
        // SearchExperimentsUtils._get_identifier on the unquoted text, then the store's own key check. The store
        // ignores the prefix, so tags.name orders by name.
        var key = identifier.Segments[0].Content;
        if (identifier.Segments.Count > 1)
        {
            var entityText = identifier.Segments[0].Content;
            if (entityText is not ("attribute" or "tag" or "tags"))
            {
                throw InvalidEntity(entityText);
            }

            key = identifier.KeyAfterEntity;
            if (entityText != "attribute")
            {
                Require(OrderByKeys.Contains(key, StringComparer.Ordinal),
                    $"Invalid order by key '{Echo.Truncate(key)}' specified. Valid keys are {PythonSet(OrderByKeys)}");
                return (SearchEntityType.Attribute, key);
            }
        }

        Require(OrderByKeys.Contains(key, StringComparer.Ordinal),
            $"Invalid attribute key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet(OrderByKeys)}'");
        return (SearchEntityType.Attribute, key);
    }

    protected override SearchValue ResolveValue(SearchEntityType entity, string key, SyntaxValue value)
    {
        if (entity == SearchEntityType.Tag)
        {
            return base.ResolveValue(entity, key, value);
        }

        switch (value.Kind)
        {
            case SyntaxValueKind.List:
                Require(key == "run_id", "Only the 'run_id' attribute supports comparison with a list of quoted string values.");
                return List(value);
            case SyntaxValueKind.Number:
                Require(NumericKeys.Contains(key, StringComparer.Ordinal),
                    $"Only the '{PythonSet(NumericKeys)}' attributes support comparison with numeric values.");
                return Number(value);
            default:
                // A quoted version number is allowed; ConvertValue turns it into a number, as the store's int() does.
                return QuotedString(value);
        }
    }

    protected override void ValidateAttributeComparator(string key, string comparator)
    {
        if (key == "version_number")
        {
            Require(IsOneOf(comparator, NumericComparators), $"Invalid comparator for attribute {key}: {Echo.Truncate(comparator)}");
            return;
        }

        var allowed = IsOneOf(comparator, StringAttributeComparators) && (comparator != "IN" || key is "run_id" or "name");
        Require(allowed, $"Invalid comparator for attribute: {Echo.Truncate(comparator)}");
    }

    /// <summary>
    /// The store's <c>int(value)</c> for version_number: a float literal is refused, a quoted integer accepted
    /// (surrounding blanks, a sign and digit-separating underscores included, as Python's int() takes them).
    /// </summary>
    protected override SearchValue ConvertValue(SearchEntityType entity, string key, SearchValue value)
    {
        if (entity != SearchEntityType.Attribute || key != "version_number")
        {
            return value;
        }

        var text = value.Kind == SearchValueKind.String ? value.Text.Trim() : value.Text;
        var digits = text.TrimStart('+', '-');
        var isInteger = digits.Length > 0 && text.Length - digits.Length <= 1
            && char.IsAsciiDigit(digits[0]) && char.IsAsciiDigit(digits[^1])
            && digits.All(c => char.IsAsciiDigit(c) || c == '_') && !digits.Contains("__", StringComparison.Ordinal);
        var shown = value.Kind == SearchValueKind.String ? $"'{value.Text}'" : value.Text;
        if (!isInteger || !long.TryParse(
                text.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            throw MlflowException.InvalidParameter($"Invalid value for numeric attribute '{key}': {Echo.Truncate(shown)}");
        }

        return SearchValue.OfNumber(number, value.Text);
    }
}
