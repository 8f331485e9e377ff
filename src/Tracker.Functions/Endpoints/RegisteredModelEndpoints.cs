using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Registry;
using Tracker.Core.Webhooks;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow's registered-model RPCs (spec §3.1 R1–R12), with the permissions of MLflow's auth app (security baseline §2):
/// the creator manages the model; a rename moves its grants to the new name and a delete removes them, as MLflow's
/// auth app does after those requests.
/// </summary>
public static class RegisteredModelEndpoints
{
    public static RouteGroupBuilder MapRegisteredModelEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/registered-models/create", CreateRegisteredModel).RequiresSignIn();
        api.MapPost("/registered-models/rename", RenameRegisteredModel).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapPatch("/registered-models/update", UpdateRegisteredModel).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapDelete("/registered-models/delete", DeleteRegisteredModel).Requires(Permission.Manage, Resource.RegisteredModel);
        api.MapGet("/registered-models/get", GetRegisteredModel).Requires(Permission.Read, Resource.RegisteredModel);
        api.MapGet("/registered-models/search", SearchRegisteredModels).RequiresSignIn();
        // The client POSTs, and falls back to GET on ENDPOINT_NOT_FOUND; MLflow serves both.
        api.MapPost("/registered-models/get-latest-versions", GetLatestVersions).Requires(Permission.Read, Resource.RegisteredModel);
        api.MapGet("/registered-models/get-latest-versions", GetLatestVersions).Requires(Permission.Read, Resource.RegisteredModel);
        api.MapPost("/registered-models/set-tag", SetRegisteredModelTag).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapDelete("/registered-models/delete-tag", DeleteRegisteredModelTag).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapPost("/registered-models/alias", SetAlias).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapDelete("/registered-models/alias", DeleteAlias).Requires(Permission.Manage, Resource.RegisteredModel);
        api.MapGet("/registered-models/alias", GetModelVersionByAlias).Requires(Permission.Read, Resource.RegisteredModel);
        return api;
    }

    public static async Task<IResult> CreateRegisteredModel(
        RequestArgs args, Caller caller, RegistryStore registry, AuthStore auth, WebhookPublisher webhooks, CancellationToken ct)
    {
        var name = RegistryValidation.NewModelName(args.RequiredString("name"));
        var tags = Parse.KeyValues(args, "tags");
        foreach (var tag in tags) RegistryValidation.ModelTag(tag.Key, tag.Value);
        var model = await registry.CreateRegisteredModelAsync(name, tags, args.String("description"), args.String("deployment_job_id"), ct);
        await caller.GrantModelCreatorAsync(auth, model.Name, ct);
        // A prompt is a registered model with MLflow's prompt tag; MLflow sends prompt events for those, which Tracker has not.
        if (!model.Tags.Any(t => t.Key == RegisteredModel.PromptTag))
            await webhooks.PublishAsync(WebhookEvents.RegisteredModelCreated, model.Name,
                WebhookPayloads.RegisteredModelCreated(model.Name, model.Tags, model.Description));
        return ModelResult(model);
    }

    public static async Task<IResult> GetRegisteredModel(RequestArgs args, RegistryStore registry, CancellationToken ct) =>
        ModelResult(await registry.GetRegisteredModelAsync(RegistryNames.Canonical(args.RequiredString("name")), ct));

    public static async Task<IResult> RenameRegisteredModel(
        RequestArgs args, Caller caller, RegistryStore registry, AuthStore auth, WebhookService webhooks, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var newName = RegistryValidation.NewModelName(args.RequiredString("new_name"), "new_name");
        var model = await registry.RenameRegisteredModelAsync(name, newName, ct);
        // Grants follow the model (MLflow's auth app renames them after the request): a model never loses its owners,
        // and whoever later takes the old name starts with none of them. Webhooks scoped to it follow too.
        if (caller.SignedIn) await auth.RenameRegisteredModelPermissionsAsync(name, model.Name, ct);
        await webhooks.RenameModelAsync(name, model.Name, ct);
        return ModelResult(model);
    }

    public static async Task<IResult> UpdateRegisteredModel(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        return ModelResult(await registry.UpdateRegisteredModelAsync(name, args.String("description"), args.String("deployment_job_id"), ct));
    }

    public static async Task<IResult> DeleteRegisteredModel(RequestArgs args, Caller caller, RegistryStore registry, AuthStore auth, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        await registry.DeleteRegisteredModelAsync(name, ct);
        if (caller.SignedIn) await auth.DeleteRegisteredModelPermissionsAsync(name, ct);
        return MlflowJson.Empty();
    }

    /// <summary>Only models the caller may read, filtered before paging so pages stay full and tokens stay valid.</summary>
    public static async Task<IResult> SearchRegisteredModels(RequestArgs args, Caller caller, PermissionLookup permissions, RegistryStore registry, CancellationToken ct)
    {
        var maxResults = RegistryValidation.RegisteredModelsPerPage(args.Int32("max_results"));
        var visible = caller.IsAdmin ? null : await permissions.RegisteredModelReaderAsync(caller.UserName, ct);
        var page = await registry.SearchRegisteredModelsAsync(args.String("filter"), maxResults, args.StringList("order_by"), args.String("page_token"), visible, ct);
        return MlflowJson.Page("registered_models", page, (w, model) =>
        {
            w.WriteStartObject();
            w.WriteRegisteredModel(model);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> GetLatestVersions(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var stages = args.StringList("stages").Select(ModelStages.Parse).ToList();
        var versions = await registry.GetLatestVersionsAsync(name, stages, ct);
        return MlflowJson.Object(w =>
        {
            if (versions.Count == 0) return;
            w.WriteStartArray("model_versions");
            foreach (var v in versions)
            {
                w.WriteStartObject();
                w.WriteModelVersion(v, withAliases: false);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    public static async Task<IResult> SetRegisteredModelTag(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var key = args.RequiredString("key");
        var value = args.String("value") ?? "";
        RegistryValidation.ModelTag(key, value);
        await registry.SetRegisteredModelTagAsync(name, key, value, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteRegisteredModelTag(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        await registry.DeleteRegisteredModelTagAsync(name, args.RequiredString("key"), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SetAlias(RequestArgs args, RegistryStore registry, WebhookPublisher webhooks, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var alias = args.RequiredString("alias");
        RegistryValidation.Alias(alias);
        var version = RegistryValidation.Version(args.RequiredString("version"));
        await registry.SetRegisteredModelAliasAsync(name, alias, version, ct);
        await webhooks.PublishAsync(WebhookEvents.ModelVersionAliasCreated, name, WebhookPayloads.ModelVersionAliasCreated(name, alias, version));
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteAlias(RequestArgs args, RegistryStore registry, WebhookPublisher webhooks, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var alias = args.RequiredString("alias");
        RegistryValidation.Alias(alias);
        await registry.DeleteRegisteredModelAliasAsync(name, alias, ct);
        await webhooks.PublishAsync(WebhookEvents.ModelVersionAliasDeleted, name, WebhookPayloads.ModelVersionAliasDeleted(name, alias));
        return MlflowJson.Empty();
    }

    /// <summary>
    /// <c>latest</c> (reserved, any case) names the model's newest version, as MLflow's store resolves it; any other
    /// alias is looked up, an unknown one answered with MLflow's 400.
    /// </summary>
    public static async Task<IResult> GetModelVersionByAlias(RequestArgs args, RegistryStore registry, CancellationToken ct)
    {
        var name = RegistryNames.Canonical(args.RequiredString("name"));
        var alias = args.RequiredString("alias");
        ModelVersion version;
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var latest = await registry.GetLatestVersionsAsync(name, [], ct);
            var newest = latest.MaxBy(v => v.Version)
                         ?? throw MlflowException.NotFound($"Registered Model with name={Echo.Truncate(name)} has no versions.");
            version = await registry.GetModelVersionAsync(name, newest.Version, ct);
        }
        else
        {
            version = await registry.GetModelVersionByAliasAsync(name, alias, ct);
        }
        return ModelVersionEndpoints.VersionResult(version, withAliases: true);
    }

    private static IResult ModelResult(RegisteredModel model) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("registered_model");
        w.WriteRegisteredModel(model);
        w.WriteEndObject();
    });
}
