using System.Globalization;
using System.Text.Json.Nodes;
using Tracker.Core.Artifacts;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Registry;

/// <summary>
/// What a <c>model-versions/create</c> source names, once checked: files of one run, another registered model version,
/// or an MLflow 3 logged model.
/// </summary>
public abstract record ModelVersionSource
{
    /// <summary><c>runs:/&lt;run_id&gt;/&lt;path&gt;</c>, or Tracker's own <c>mlflow-artifacts:/</c> URI of a run's or a logged model's files.</summary>
    public sealed record RunArtifacts(ArtifactLocation Location) : ModelVersionSource;

    /// <summary><c>models:/&lt;name&gt;/&lt;version&gt;</c>: the files of another version.</summary>
    public sealed record RegisteredVersion(string Name, long Version) : ModelVersionSource;

    /// <summary><c>models:/m-&lt;id&gt;</c>: an MLflow 3 logged model.</summary>
    public sealed record LoggedModel(string ModelId) : ModelVersionSource;
}

/// <summary>A validated source and where its files are: what the store keeps and get-download-uri answers.</summary>
public sealed record ResolvedSource(string Source, string StorageLocation, string? RunId, ModelVersionSource Names);

/// <summary>
/// Validates a model version's <c>source</c> (security baseline §1.2 and case 4) and resolves where its files are,
/// BEFORE anything is stored. Tracker has no file store and never fetches a URI, so the only sources accepted are the
/// ones that name Tracker's own blobs: <c>runs:/&lt;run_id&gt;/&lt;path&gt;</c> (a run Tracker issued, the path checked like
/// every artifact path), Tracker's own <c>mlflow-artifacts:/&lt;exp&gt;/&lt;run&gt;/artifacts/&lt;path&gt;</c> (the experiment
/// must be the run's), <c>models:/&lt;name&gt;/&lt;version&gt;</c> and <c>models:/m-&lt;id&gt;</c>. Everything else (file:, absolute
/// paths, s3:, http:, dbfs:, traversal in any encoding, NUL, paths that are not in normal form) is a 400, and no tag
/// sent with the request changes that — MLflow let a prompt tag switch its check off (CVE-2026-2614).
/// </summary>
public sealed class ModelVersionSources(TrackingStore tracking, RegistryStore registry)
{
    public const string ModelsScheme = "models:/";
    /// <summary>The logged-model tag MLflow appends <c>{name, version}</c> to when a version names its <c>model_id</c>.</summary>
    public const string ModelVersionsTag = "mlflow.modelVersions";
    private const int MaxDecodings = 10;

    /// <summary>Checks the source's form without I/O: what it names, or a 400.</summary>
    public static ModelVersionSource Parse(string? source)
    {
        if (string.IsNullOrEmpty(source)) throw MlflowException.MissingParameter("source");
        RefuseTraversal(source);
        if (source.StartsWith(ArtifactLocation.RunsScheme, StringComparison.Ordinal) ||
            source.StartsWith(ArtifactLocation.ProxyScheme, StringComparison.Ordinal))
        {
            ArtifactLocation location;
            try
            {
                location = ArtifactLocation.FromUri(source, allowRoot: true);
            }
            catch (MlflowException e) when (e.Code == ErrorCode.InvalidParameterValue)
            {
                throw Invalid(source);
            }
            // Only the one spelling: what is stored and answered is exactly the location checked.
            if (source.TrimEnd('/') != Canonical(source, location)) throw Invalid(source);
            return new ModelVersionSource.RunArtifacts(location);
        }
        if (source.StartsWith(ModelsScheme, StringComparison.Ordinal))
        {
            var rest = source[ModelsScheme.Length..];
            if (rest.StartsWith("m-", StringComparison.Ordinal) && !rest.Contains('/'))
                return rest.Length > 2 && rest.Skip(2).All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                    ? new ModelVersionSource.LoggedModel(rest)
                    : throw Invalid(source);
            var slash = rest.LastIndexOf('/');
            if (slash <= 0 || slash == rest.Length - 1) throw Invalid(source);
            var name = rest[..slash];
            var version = rest[(slash + 1)..];
            // models:/name/Production, /latest and name@alias name no fixed version: MLflow cannot store them either.
            if (!version.All(char.IsAsciiDigit) || !long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                throw MlflowException.InvalidParameter(
                    $"Invalid model version source: '{Echo.Truncate(source)}'. A models:/ source must name a version number (models:/<name>/<version>) or a logged model (models:/m-<id>).");
            return new ModelVersionSource.RegisteredVersion(name, number);
        }
        throw Invalid(source);
    }

    /// <summary>
    /// Validates <paramref name="source"/>, <paramref name="runId"/> and <paramref name="modelId"/> and resolves the
    /// storage location (the run's or logged model's artifacts, or the other version's location). Reads storage only to
    /// confirm that what is named exists.
    /// </summary>
    public async Task<ResolvedSource> ResolveAsync(string? source, string? runId, string? modelId, CancellationToken ct = default)
    {
        var parsed = Parse(source);
        runId = string.IsNullOrEmpty(runId) ? null : runId;
        // A run Tracker holds, or its 404 (MLflow stores any string; its UI and the regression gate then follow a dead link).
        if (runId is not null) await tracking.GetRunAsync(runId, ct);
        var named = string.IsNullOrEmpty(modelId) ? null : await RequireLoggedModelAsync(modelId, ct);
        // The 3.x client names the same logged model twice (source models:/m-… and model_id): one read serves both.
        async Task<LoggedModel> LoggedModelAsync(string id) => named?.ModelId == id ? named : await RequireLoggedModelAsync(id, ct);
        switch (parsed)
        {
            case ModelVersionSource.RunArtifacts(var location):
                // Tracker's own URI of a logged model's files (mlflow-artifacts:/<exp>/models/<id>/artifacts/…) names
                // that model, which must exist; any other names a run.
                if (location.ModelId is { } locationModel)
                {
                    var owner = await LoggedModelAsync(locationModel);
                    return new ResolvedSource(source!, source!.TrimEnd('/'), runId ?? owner.SourceRunId, parsed);
                }
                if (location.RunId != runId) await tracking.GetRunAsync(location.RunId!, ct);
                // MLflow keeps a runs:/ source as the location too, and the client resolves it through runs/get.
                return new ResolvedSource(source!, source!.TrimEnd('/'), runId, parsed);
            case ModelVersionSource.RegisteredVersion(var name, var version):
                var location2 = await registry.GetModelVersionDownloadUriAsync(name, version, ct);
                return new ResolvedSource(source!, location2, runId, parsed);
            case ModelVersionSource.LoggedModel(var id):
                var model = await LoggedModelAsync(id);
                return new ResolvedSource(source!, model.ArtifactUri, runId ?? model.SourceRunId, parsed);
            default:
                throw new InvalidOperationException($"Unhandled source {parsed}");
        }
    }

    /// <summary>
    /// MLflow 3 records each version registered from a logged model on the model's <c>mlflow.modelVersions</c> tag (a
    /// JSON list of <c>{name, version}</c>), after the version was created.
    /// </summary>
    public async Task RecordVersionOnLoggedModelAsync(string modelId, string name, long version, CancellationToken ct = default)
    {
        var model = await RequireLoggedModelAsync(modelId, ct);
        var existing = model.Tags.FirstOrDefault(t => t.Key == ModelVersionsTag)?.Value;
        JsonArray list;
        try
        {
            list = existing is null ? [] : JsonNode.Parse(existing) as JsonArray ?? [];
        }
        catch (System.Text.Json.JsonException)
        {
            list = [];
        }
        list.Add((JsonNode)new JsonObject { ["name"] = name, ["version"] = version });
        await tracking.SetLoggedModelTagsAsync(modelId, [new KeyValue(ModelVersionsTag, list.ToJsonString())], ct);
    }

    private async Task<LoggedModel> RequireLoggedModelAsync(string modelId, CancellationToken ct) =>
        await tracking.GetLoggedModelAsync(modelId, ct) ?? throw LoggedModelIds.NotFound(modelId);

    private static string Canonical(string source, ArtifactLocation location)
    {
        var suffix = location.Path.Length == 0 ? "" : "/" + location.Path;
        return source.StartsWith(ArtifactLocation.RunsScheme, StringComparison.Ordinal)
            ? ArtifactLocation.RunsScheme + location.RunId + suffix
            : location.ToString();
    }

    /// <summary>
    /// MLflow's own check on every source: no <c>..</c> segment and no NUL after repeated unquoting (both
    /// <c>unquote</c> and <c>unquote_plus</c>), whatever the scheme.
    /// </summary>
    private static void RefuseTraversal(string source)
    {
        var form = source;
        for (var i = 0; i <= MaxDecodings; i++)
        {
            if (!IsSafe(form) || !IsSafe(Unquote(form.Replace('+', ' ')) ?? "..")) throw Invalid(source);
            var decoded = Unquote(form) ?? throw Invalid(source);
            if (decoded == form) return;
            form = decoded;
        }
        throw Invalid(source);

        static bool IsSafe(string form) => !form.Any(char.IsControl) && !form.Split('/', '\\').Any(s => s == "..");
    }

    private static string? Unquote(string form)
    {
        try
        {
            return Uri.UnescapeDataString(form);
        }
        catch (UriFormatException)
        {
            return null;
        }
    }

    private static MlflowException Invalid(string source) => MlflowException.InvalidParameter(
        $"Invalid model version source: '{Echo.Truncate(source)}'. Tracker accepts runs:/<run_id>/<path>, models:/<name>/<version>, " +
        "models:/m-<model_id> or its own mlflow-artifacts:/<experiment_id>/<run_id>/artifacts/<path>.");
}
