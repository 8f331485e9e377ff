using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Registry;

// What the lifecycle workers ask of the registry: which live versions' files lie where (a purge keeps them; tiering
// leaves files another live version shares in the Hot tier).
public sealed partial class RegistryStore
{
    /// <summary>Every live version of every live model (any stage), from the search snapshot: one range query of the
    /// change rows when this instance is up to date.</summary>
    public Task<IReadOnlyList<ModelVersion>> ListLiveVersionsAsync(CancellationToken ct = default) =>
        WithinBudget<IReadOnlyList<ModelVersion>>(_requestTimeout, async ct =>
        {
            var (models, versions) = await CurrentAsync(ct);
            var byId = models.ToDictionary(m => m.Id, StringComparer.Ordinal);
            return versions.Select(v => v.For(byId[v.ModelId])).ToList();
        }, ct);
}
