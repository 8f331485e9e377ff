using Tracker.Core.Artifacts;
using Tracker.Core.Registry;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// What the registry's live versions (every stage, Archived included) need kept: the runs and logged models they name
/// and the files their storage locations point at. MLflow's <c>mlflow gc</c> deletes a deleted run's artifacts even when
/// a registered version's source points into them, which breaks that version; Tracker's purge keeps them.
/// </summary>
public sealed record RegisteredFiles(IReadOnlySet<string> Runs, IReadOnlySet<string> Models, IReadOnlyList<string> Prefixes)
{
    /// <param name="archivedToo">False: only versions not in <c>Archived</c> (what artifact retention must keep).</param>
    public static async Task<RegisteredFiles> ReadAsync(RegistryStore registry, CancellationToken ct, bool archivedToo = true)
    {
        var runs = new HashSet<string>(StringComparer.Ordinal);
        var models = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new List<string>();
        foreach (var version in await registry.ListLiveVersionsAsync(ct))
        {
            if (!archivedToo && version.CurrentStage == ModelStages.Archived) continue;
            if (!string.IsNullOrEmpty(version.RunId)) runs.Add(version.RunId);
            if (!string.IsNullOrEmpty(version.ModelId)) models.Add(version.ModelId);
            var location = string.IsNullOrEmpty(version.StorageLocation) ? version.Source : version.StorageLocation;
            try
            {
                var at = ArtifactLocation.FromUri(location, allowRoot: true);
                if (at.RunId is { } run) runs.Add(run);
                if (at.ModelId is { } model) models.Add(model);
                prefixes.Add(at.BlobName);
            }
            catch (MlflowException)
            {
                // A source naming no files of this server (models:/ of an older version) pins nothing more.
            }
        }
        return new RegisteredFiles(runs, models, prefixes);
    }

    /// <summary>Whether the blob backs a registered version.</summary>
    public bool Covers(string blobName) => Prefixes.Any(p => LifecycleBlobs.Within(blobName, p));
}
