using Tracker.Core.Registry;
using Tracker.Core.Tracking;

namespace Tracker.Core.Search;

/// <summary>
/// What the registered-model and model-version grammars share (MLflow's <c>SearchModelUtils</c> /
/// <c>SearchModelVersionUtils</c> and the SQL registry store that validates their output): prefixes
/// <c>attribute.</c>, <c>tag.</c>, <c>tags.</c>; tags compared with <c>= != LIKE ILIKE</c>; and the prompt rule of
/// spec §6.8.
/// </summary>
internal abstract class RegistrySearchGrammar : SearchGrammar
{
    private readonly string[] filterAttributeKeys;

    protected RegistrySearchGrammar(params string[] filterAttributeKeys) => this.filterAttributeKeys = filterAttributeKeys;

    /// <summary>
    /// Whether the filter asks for prompts, as MLflow's <c>_is_querying_prompt</c> decides: the first clause on the
    /// prompt tag, when it is <c>= 'true'</c> or <c>!= 'false'</c> (value in any case).
    /// </summary>
    public static bool AsksForPrompts(IReadOnlyList<SearchClause> clauses)
    {
        var clause = clauses.FirstOrDefault(IsPromptClause);
        return clause is not null
            && ((clause.Comparator == SearchComparator.Equal && clause.Value.Text.Equals("true", StringComparison.OrdinalIgnoreCase))
                || (clause.Comparator == SearchComparator.NotEqual && clause.Value.Text.Equals("false", StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>
    /// A search for models (not prompts) drops the clauses on the prompt tag, as MLflow does: ordinary models lack the
    /// tag, so <c>= 'false'</c> or <c>!= 'true'</c> would otherwise match none of them.
    /// </summary>
    public static IReadOnlyList<SearchClause> WithoutPromptClauses(IReadOnlyList<SearchClause> clauses) =>
        clauses.Any(IsPromptClause) ? clauses.Where(c => !IsPromptClause(c)).ToList() : clauses;

    /// <summary>The value of a tag, or null: registry entities carry tags as a short list.</summary>
    public static string? TagValue(IReadOnlyList<KeyValue> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return tag.Value;
            }
        }

        return null;
    }

    protected override (SearchEntityType Entity, string Key) ResolveIdentifier(SyntaxIdentifier identifier, bool forOrderBy)
    {
        if (forOrderBy)
        {
            return ResolveOrderIdentifier(identifier);
        }

        // MLflow's _get_model_search_identifier checks the prefix and an attribute key as written, before unquoting:
        // `name` is not an attribute here, unlike in runs or experiments.
        var entity = SearchEntityType.Attribute;
        var writtenKey = identifier.Segments[0].Text;
        if (identifier.Segments.Count > 1)
        {
            var entityText = identifier.Segments[0].Text;
            entity = entityText switch
            {
                "attribute" => SearchEntityType.Attribute,
                "tag" or "tags" => SearchEntityType.Tag,
                _ => throw InvalidEntity(entityText),
            };
            writtenKey = string.Join('.', identifier.Segments.Skip(1).Select(s => s.Text));
        }

        if (entity == SearchEntityType.Tag)
        {
            return (entity, identifier.KeyAfterEntity);
        }

        Require(filterAttributeKeys.Contains(writtenKey, StringComparer.Ordinal),
            $"Invalid attribute key '{Echo.Truncate(writtenKey)}' specified. Valid keys are '{PythonSet(filterAttributeKeys)}'");
        return (entity, writtenKey);
    }

    /// <summary>An order_by identifier, unquoted (MLflow reads it through shlex); throws with the store's message.</summary>
    protected abstract (SearchEntityType Entity, string Key) ResolveOrderIdentifier(SyntaxIdentifier identifier);

    /// <summary>The comparator check of the SQL registry store for an attribute.</summary>
    protected abstract void ValidateAttributeComparator(string key, string comparator);

    protected override void ValidateComparator(SearchEntityType entity, string key, string comparator)
    {
        if (entity == SearchEntityType.Tag)
        {
            Require(IsOneOf(comparator, StringComparators), $"Invalid comparator for tag: {Echo.Truncate(comparator)}");
        }
        else
        {
            ValidateAttributeComparator(key, comparator);
        }
    }

    protected static MlflowException InvalidEntity(string entityText) => MlflowException.InvalidParameter(
        $"Invalid entity type '{Echo.Truncate(entityText)}'. Valid entity types are ('attribute', 'tag', 'tags')");

    private static bool IsPromptClause(SearchClause clause) => clause.Entity == SearchEntityType.Tag && clause.Key == RegisteredModel.PromptTag;
}
