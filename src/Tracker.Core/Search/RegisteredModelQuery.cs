using Tracker.Core.Registry;

namespace Tracker.Core.Search;

/// <summary>
/// A parsed <c>registered-models/search</c> request (spec §5.4, §6.8): which models match and in what order.
/// CONTRACT STUB (to be implemented on the generic search filter/ordering): matches every model, orders by name.
/// </summary>
public sealed class RegisteredModelQuery
{
    private RegisteredModelQuery()
    {
    }

    /// <summary>Parses filter and order_by; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when invalid.</summary>
    public static RegisteredModelQuery Parse(string? filter, IReadOnlyList<string>? orderBy) => new();

    /// <summary>Whether the filter asks for prompts (<c>tags.`mlflow.prompt.is_prompt` = 'true'</c>); otherwise prompts are left out.</summary>
    public bool IncludesPrompts => false;

    public bool Matches(RegisteredModel model) => true;

    public IComparer<RegisteredModel> Order { get; } = Comparer<RegisteredModel>.Create((x, y) => string.CompareOrdinal(x.Name, y.Name));
}
