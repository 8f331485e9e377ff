using Tracker.Core.Registry;

namespace Tracker.Core.Search;

/// <summary>
/// A parsed <c>model-versions/search</c> request (spec §5.5, §6.8): which versions match and in what order, on the
/// generic filter and ordering over the model-version field table. A <c>tags.x</c> clause reads the version's tags.
/// </summary>
public sealed class ModelVersionQuery
{
    private readonly SearchFilter<ModelVersion> filter;

    private ModelVersionQuery(SearchFilter<ModelVersion> filter, bool includesPrompts, IComparer<ModelVersion> order)
    {
        this.filter = filter;
        IncludesPrompts = includesPrompts;
        Order = order;
    }

    /// <summary>Parses filter and order_by; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when invalid.</summary>
    public static ModelVersionQuery Parse(string? filter, IReadOnlyList<string>? orderBy)
    {
        var schema = ModelVersionSearchGrammar.Schema;
        var clauses = schema.ParseClauses(filter);
        var order = schema.ParseOrderBy(orderBy);
        var includesPrompts = RegistrySearchGrammar.AsksForPrompts(clauses);
        return new ModelVersionQuery(
            schema.Filter(includesPrompts ? clauses : RegistrySearchGrammar.WithoutPromptClauses(clauses)), includesPrompts, order);
    }

    /// <summary>Whether the filter asks for versions of prompts; otherwise versions of prompt models are left out.</summary>
    public bool IncludesPrompts { get; }

    /// <summary>
    /// Whether the version matches the filter. Unless the filter asks for prompts, a version tagged as a prompt's
    /// (MLflow tags prompt versions as it tags prompts) never does; the caller, which knows the version's model, leaves
    /// out the versions of prompt models.
    /// </summary>
    public bool Matches(ModelVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        return (IncludesPrompts || !RegisteredModel.HasPromptTag(version.Tags)) && filter.Matches(version);
    }

    /// <summary>Default: last_updated_timestamp DESC, name ASC, version_number DESC; an explicit order gets the last two as tie-breakers.</summary>
    public IComparer<ModelVersion> Order { get; }
}
