using Tracker.Core.Registry;

namespace Tracker.Core.Search;

/// <summary>
/// A parsed <c>model-versions/search</c> request (spec §5.5, §6.8): which versions match and in what order.
/// CONTRACT STUB (to be implemented on the generic search filter/ordering): matches every version, MLflow's default order.
/// </summary>
public sealed class ModelVersionQuery
{
    private ModelVersionQuery()
    {
    }

    /// <summary>Parses filter and order_by; throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when invalid.</summary>
    public static ModelVersionQuery Parse(string? filter, IReadOnlyList<string>? orderBy) => new();

    /// <summary>Whether the filter asks for versions of prompts; otherwise versions of prompt models are left out.</summary>
    public bool IncludesPrompts => false;

    public bool Matches(ModelVersion version) => true;

    /// <summary>Default: last_updated_timestamp DESC, name ASC, version_number DESC.</summary>
    public IComparer<ModelVersion> Order { get; } = Comparer<ModelVersion>.Create((x, y) =>
    {
        var c = y.LastUpdatedTimestamp.CompareTo(x.LastUpdatedTimestamp);
        if (c == 0) c = string.CompareOrdinal(x.Name, y.Name);
        return c != 0 ? c : y.Version.CompareTo(x.Version);
    });
}
