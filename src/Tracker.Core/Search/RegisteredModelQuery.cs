using Tracker.Core.Registry;

namespace Tracker.Core.Search;

/// <summary>
/// A parsed <c>registered-models/search</c> request (spec §5.4, §6.8): which models match and in what order, on the
/// generic filter and ordering over the registered-model field table.
/// </summary>
public sealed class RegisteredModelQuery
{
    private readonly SearchFilter<RegisteredModel> filter;

    private RegisteredModelQuery(SearchFilter<RegisteredModel> filter, bool includesPrompts, IComparer<RegisteredModel> order)
    {
        this.filter = filter;
        IncludesPrompts = includesPrompts;
        Order = order;
    }

    /// <summary>Parses filter and order_by; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when invalid.</summary>
    public static RegisteredModelQuery Parse(string? filter, IReadOnlyList<string>? orderBy)
    {
        var schema = RegisteredModelSearchGrammar.Schema;
        var clauses = schema.ParseClauses(filter);
        var order = schema.ParseOrderBy(orderBy);
        var includesPrompts = RegistrySearchGrammar.AsksForPrompts(clauses);
        return new RegisteredModelQuery(
            schema.Filter(includesPrompts ? clauses : RegistrySearchGrammar.WithoutPromptClauses(clauses)), includesPrompts, order);
    }

    /// <summary>Whether the filter asks for prompts (<c>tags.`mlflow.prompt.is_prompt` = 'true'</c>); otherwise prompts are left out.</summary>
    public bool IncludesPrompts { get; }

    /// <summary>Whether the model matches the filter; a prompt never does unless the filter asks for prompts.</summary>
    public bool Matches(RegisteredModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return (IncludesPrompts || !model.IsPrompt) && filter.Matches(model);
    }

    /// <summary>The requested order, then <c>name ASC</c>; default <c>name ASC</c>.</summary>
    public IComparer<RegisteredModel> Order { get; }
}
