using Tracker.Core.Tracking;

namespace Tracker.Core.Artifacts;

/// <summary>
/// A file or directory among one run's artifacts, or among one MLflow 3 logged model's. Its blob name,
/// <c>&lt;experiment_id&gt;/&lt;run_id&gt;/artifacts/&lt;path&gt;</c> or
/// <c>&lt;experiment_id&gt;/models/&lt;model_id&gt;/artifacts/&lt;path&gt;</c>, is built only from an id Tracker issued
/// (which carries the experiment id) and a path that passed <see cref="ArtifactPath"/>, never taken from a client's URI
/// as is; it is also the path MLflow's artifact proxy uses below <c>mlflow-artifacts:/</c>.
/// </summary>
public sealed record ArtifactLocation
{
    public const string ProxyScheme = "mlflow-artifacts:";
    public const string RunsScheme = "runs:/";
    private const string ModelsSegment = "models";

    private ArtifactLocation(string experimentId, string? runId, string? modelId, string path)
    {
        ExperimentId = experimentId;
        RunId = runId;
        ModelId = modelId;
        Path = path;
        if (BlobName.Length > ArtifactPath.MaxBlobNameLength)
            throw MlflowException.InvalidParameter($"Invalid path: artifact paths are limited to {ArtifactPath.MaxBlobNameLength} characters in all.");
    }

    public string ExperimentId { get; }
    /// <summary>The run whose artifacts these are; null for a logged model's.</summary>
    public string? RunId { get; }
    /// <summary>The logged model whose artifacts these are; null for a run's.</summary>
    public string? ModelId { get; }
    /// <summary>The run or logged model the location belongs to.</summary>
    public string OwnerId => RunId ?? ModelId!;
    /// <summary>Relative to the owner's artifact root; empty for the root itself.</summary>
    public string Path { get; }

    public string Root => ModelId is null ? $"{ExperimentId}/{RunId}/artifacts" : $"{ExperimentId}/{ModelsSegment}/{ModelId}/artifacts";
    public string BlobName => Path.Length == 0 ? Root : $"{Root}/{Path}";
    public string FileName => BlobName[(BlobName.LastIndexOf('/') + 1)..];
    /// <summary>How messages name the owner: "run &lt;id&gt;" or "logged model &lt;id&gt;".</summary>
    public string OwnerDescription => ModelId is null ? $"run {RunId}" : $"logged model {ModelId}";

    public ArtifactLocation Child(string name) =>
        new(ExperimentId, RunId, ModelId, Path.Length == 0 ? name : $"{Path}/{name}");

    /// <summary>A path below a run's artifact root, as the native API and the tracking API's artifacts/list take it.</summary>
    public static ArtifactLocation ForRun(string runId, string? path, bool allowRoot) =>
        new(ExperimentOf(runId), runId, null, ArtifactPath.Validate(DirectoryPath(path, allowRoot), allowRoot));

    /// <summary>A path below a logged model's artifact root (logged-models/{id}/artifacts/directories takes it).</summary>
    public static ArtifactLocation ForModel(string modelId, string? path, bool allowRoot) =>
        new(LoggedModelIds.ExperimentOf(modelId) ?? throw LoggedModelIds.NotFound(modelId), null, modelId,
            ArtifactPath.Validate(DirectoryPath(path, allowRoot), allowRoot));

    /// <summary>
    /// A path of MLflow's artifact proxy (<c>/api/2.0/mlflow-artifacts/artifacts/&lt;path&gt;</c>), relative to
    /// <c>mlflow-artifacts:/</c>. Tracker serves only what lies in a run's or a logged model's artifact directory.
    /// </summary>
    public static ArtifactLocation FromProxyPath(string? proxyPath, bool allowRoot) =>
        TryFromProxyPath(proxyPath, allowRoot) ?? throw MlflowException.InvalidParameter(
            $"Invalid path: artifacts live in a run's artifact directory, <experiment_id>/<run_id>/artifacts/<path>, or a logged model's, <experiment_id>/models/<model_id>/artifacts/<path>; '{Echo.Truncate(proxyPath)}' is not inside one.");

    /// <summary>
    /// As <see cref="FromProxyPath"/>, but null for a safe path outside every run's artifact directory (the rest of
    /// <c>mlflow-artifacts:/</c>, including its root), for routes that answer that case in their own way.
    /// </summary>
    public static ArtifactLocation? TryFromProxyPath(string? proxyPath, bool allowRoot)
    {
        var path = ArtifactPath.Validate(DirectoryPath(proxyPath, allowRoot), allowEmpty: true);
        var parts = path.Split('/', 5);
        if (parts.Length < 3 || RunIds.CanonicalExperimentId(parts[0]) != parts[0]) return null;
        // No run id is "models" (run ids are 32 hex digits), so the two layouts cannot be confused.
        var isModel = parts[1] == ModelsSegment;
        if (isModel ? parts.Length < 4 || parts[3] != "artifacts" : parts[2] != "artifacts") return null;
        if (isModel && LoggedModelIds.ExperimentOf(parts[2]) != parts[0]) throw LoggedModelIds.NotFound(parts[2]);
        if (!isModel && ExperimentOf(parts[1]) != parts[0]) throw RunNotFound(parts[1]);
        var rest = isModel ? parts.Length == 5 ? parts[4] : "" : string.Join('/', parts.Skip(3));
        // Checked again on its own: what must not start a path (a drive letter, a scheme) is checked at its start.
        var relative = ArtifactPath.Validate(rest, allowEmpty: true);
        if (relative.Length == 0 && !allowRoot)
            throw MlflowException.InvalidParameter($"Invalid path: it names a {(isModel ? "logged model" : "run")}'s artifact directory, not a file.");
        return isModel ? new ArtifactLocation(parts[0], null, parts[2], relative) : new ArtifactLocation(parts[0], parts[1], null, relative);
    }

    /// <summary>
    /// The file (or, where <paramref name="allowRoot"/>, the directory) an MLflow URI names:
    /// <c>runs:/&lt;run_id&gt;/&lt;path&gt;</c> (model versions' sources) or
    /// <c>mlflow-artifacts:/&lt;experiment_id&gt;/&lt;run_id&gt;/artifacts/&lt;path&gt;</c> (runs' <c>artifact_uri</c>).
    /// </summary>
    public static ArtifactLocation FromUri(string uri, bool allowRoot)
    {
        if (uri.StartsWith(RunsScheme, StringComparison.Ordinal))
        {
            var rest = uri[RunsScheme.Length..].TrimStart('/');
            var slash = rest.IndexOf('/');
            return slash < 0 ? ForRun(rest, "", allowRoot) : ForRun(rest[..slash], rest[(slash + 1)..], allowRoot);
        }
        if (uri.StartsWith(ProxyScheme, StringComparison.Ordinal))
        {
            var rest = uri[ProxyScheme.Length..];
            // mlflow-artifacts://host/<path> names another server; only this server's own paths resolve here.
            if (rest.StartsWith("//", StringComparison.Ordinal))
                throw MlflowException.InvalidParameter($"Artifact URI '{Echo.Truncate(uri)}' names another artifact server.");
            return FromProxyPath(rest.TrimStart('/'), allowRoot);
        }
        throw MlflowException.InvalidParameter($"Artifact URI '{Echo.Truncate(uri)}' is neither a runs:/ nor an mlflow-artifacts:/ URI.");
    }

    /// <summary>
    /// A directory may be named with one trailing slash (the client deletes a whole run's artifacts as
    /// <c>.../artifacts/</c>), wherever a directory may be named and on every route alike; a file never.
    /// </summary>
    private static string? DirectoryPath(string? path, bool allowRoot) =>
        allowRoot && path is { Length: > 1 } && path[^1] == '/' ? path[..^1] : path;

    public override string ToString() => ProxyScheme + "/" + BlobName;

    private static string ExperimentOf(string runId) => RunIds.ExperimentOf(runId) ?? throw RunNotFound(runId);

    internal static MlflowException RunNotFound(string runId) => MlflowException.NotFound($"Run with id={runId} not found");
}
