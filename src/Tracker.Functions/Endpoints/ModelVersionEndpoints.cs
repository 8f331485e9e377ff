using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Core.Tracking;
using Tracker.Core.Webhooks;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow's model-version RPCs (spec §3.1 R13–R21). A version is checked against its model's permission (security
/// baseline §2); its source is validated and resolved before anything is stored (<see cref="ModelVersionSources"/>).
/// </summary>
public static class ModelVersionEndpoints
{
    public static RouteGroupBuilder MapModelVersionEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/model-versions/create", CreateModelVersion).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapGet("/model-versions/get", GetModelVersion).Requires(Permission.Read, Resource.RegisteredModel);
        api.MapPatch("/model-versions/update", UpdateModelVersion).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapDelete("/model-versions/delete", DeleteModelVersion).Requires(Permission.Manage, Resource.RegisteredModel);
        api.MapGet("/model-versions/search", SearchModelVersions).RequiresSignIn();
        api.MapPost("/model-versions/transition-stage", TransitionStage).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapGet("/model-versions/get-download-uri", GetDownloadUri).Requires(Permission.Read, Resource.RegisteredModel);
        api.MapPost("/model-versions/set-tag", SetModelVersionTag).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapDelete("/model-versions/delete-tag", DeleteModelVersionTag).Requires(Permission.Manage, Resource.RegisteredModel);
        return api;
    }

    public static async Task<IResult> CreateModelVersion(
        RequestArgs args, Caller caller, PermissionLookup permissions, ModelVersionSources sources, RegistryStore registry, WebhookPublisher webhooks,
        CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var tags = Parse.KeyValues(args, "tags");
        foreach (var tag in tags) RegistryValidation.VersionTag(tag.Key, tag.Value);
        var modelId = args.String("model_id") is { Length: > 0 } id ? id : null;
        // Whatever tags say (a prompt's included): the source is checked and resolved here, before the store is called.
        var resolved = await sources.ResolveAsync(args.String("source"), args.String("run_id"), modelId, ct);
        await RequireReadableAsync(caller, permissions, resolved.Names, ct);
        // The model_id's logged model gets this version recorded on its tags: the caller must be able to read it too.
        if (modelId is not null && caller.SignedIn && !caller.IsAdmin && !await CanReadLoggedModelAsync(caller, permissions, modelId, ct))
            throw AuthMiddleware.Denied();
        var version = await registry.CreateModelVersionAsync(new NewModelVersion(
            name, resolved.Source, resolved.StorageLocation, resolved.RunId, tags, args.String("run_link"), args.String("description"), modelId, UserId: null), ct);
        if (modelId is not null) await sources.RecordVersionOnLoggedModelAsync(modelId, version.Name, version.Version, ct);
        await webhooks.PublishAsync(WebhookEvents.ModelVersionCreated, version.Name, WebhookPayloads.ModelVersionCreated(version));
        return VersionResult(version, withAliases: false);
    }

    /// <summary>
    /// Registering another model's files hands them out under this model's permission, so the caller must be able to
    /// read what the source names: the run's experiment, or the other registered model. (MLflow checks neither.)
    /// </summary>
    private static async Task RequireReadableAsync(Caller caller, PermissionLookup permissions, ModelVersionSource source, CancellationToken ct)
    {
        if (caller.IsAdmin || !caller.SignedIn) return;
        var readable = source switch
        {
            ModelVersionSource.RunArtifacts(var location) => (await permissions.ForExperimentAsync(caller.UserName, location.ExperimentId, ct)).CanRead,
            ModelVersionSource.RegisteredVersion(var other, _) => (await permissions.ForRegisteredModelAsync(caller.UserName, RegistryNames.Canonical(other), ct)).CanRead,
            ModelVersionSource.LoggedModel(var id) => await CanReadLoggedModelAsync(caller, permissions, id, ct),
            _ => false,
        };
        if (!readable) throw AuthMiddleware.Denied();
    }

    /// <summary>A logged model counts as its experiment's (its id carries it; an id Tracker never issued was a 404 already).</summary>
    private static async Task<bool> CanReadLoggedModelAsync(Caller caller, PermissionLookup permissions, string modelId, CancellationToken ct) =>
        LoggedModelIds.ExperimentOf(modelId) is { } experimentId && (await permissions.ForExperimentAsync(caller.UserName, experimentId, ct)).CanRead;

    public static async Task<IResult> GetModelVersion(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        return VersionResult(await registry.GetModelVersionAsync(name, version, ct), withAliases: true);
    }

    public static async Task<IResult> UpdateModelVersion(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        return VersionResult(await registry.UpdateModelVersionAsync(name, version, args.String("description"), ct), withAliases: false);
    }

    public static async Task<IResult> DeleteModelVersion(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        await registry.DeleteModelVersionAsync(name, version, ct);
        return MlflowJson.Empty();
    }

    /// <summary>Only versions of models the caller may read, filtered before paging.</summary>
    public static async Task<IResult> SearchModelVersions(RequestArgs args, Caller caller, PermissionLookup permissions, RegistryStore registry, CancellationToken ct)
    {
        var maxResults = RegistryValidation.ModelVersionsPerPage(args.Int32("max_results"));
        var visible = caller.IsAdmin ? null : await permissions.RegisteredModelReaderAsync(caller.UserName, ct);
        var page = await registry.SearchModelVersionsAsync(args.String("filter"), maxResults, args.StringList("order_by"), args.String("page_token"), visible, ct);
        return MlflowJson.Page("model_versions", page, (w, version) =>
        {
            w.WriteStartObject();
            w.WriteModelVersion(version, withAliases: false);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> TransitionStage(RequestArgs args, RegistryStore registry, LifecycleQueue lifecycle, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        var stage = ModelStages.Parse(args.RequiredString("stage"));
        var archive = args.Bool("archive_existing_versions") ?? false;
        RegistryValidation.ArchiveExisting(stage, archive);
        var transition = await registry.TransitionStageAsync(name, version, stage, archive, ct);
        await lifecycle.StagesChangedAsync(transition.Version.Name, transition.StageChanged, ct); // tiering
        return VersionResult(transition.Version, withAliases: false);
    }

    /// <summary>The stored location exactly as MLflow answers it (a runs:/ source comes back as is; the client resolves it).</summary>
    public static async Task<IResult> GetDownloadUri(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        var uri = await registry.GetModelVersionDownloadUriAsync(name, version, ct);
        return MlflowJson.Object(w => w.WriteString("artifact_uri", uri));
    }

    public static async Task<IResult> SetModelVersionTag(RequestArgs args, RegistryStore registry, WebhookPublisher webhooks, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        var key = args.RequiredString("key");
        var value = args.String("value");
        RegistryValidation.VersionTag(key, value);
        await registry.SetModelVersionTagAsync(name, version, key, value!, ct);
        await webhooks.PublishAsync(WebhookEvents.ModelVersionTagSet, name, WebhookPayloads.ModelVersionTagSet(name, version, key, value!));
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteModelVersionTag(RequestArgs args, RegistryStore registry, WebhookPublisher webhooks, CancellationToken ct)
    {
        var (name, version) = NameAndVersion(args);
        var key = args.RequiredString("key");
        await registry.DeleteModelVersionTagAsync(name, version, key, ct);
        await webhooks.PublishAsync(WebhookEvents.ModelVersionTagDeleted, name, WebhookPayloads.ModelVersionTagDeleted(name, version, key));
        return MlflowJson.Empty();
    }

    private static (string Name, long Version) NameAndVersion(RequestArgs args) =>
        (RegistryNames.Canonical(args.RequiredString("name")), RegistryValidation.Version(args.RequiredString("version")));

    internal static IResult VersionResult(ModelVersion version, bool withAliases) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("model_version");
        w.WriteModelVersion(version, withAliases);
        w.WriteEndObject();
    });
}
