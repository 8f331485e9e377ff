using Tracker.Core.Tracking;

namespace Tracker.Core.Registry;

/// <summary>What <c>model-versions/create</c> stores, once its source has been validated and resolved
/// (<see cref="StorageLocation"/> is what get-download-uri answers).</summary>
public sealed record NewModelVersion(
    string Name,
    string Source,
    string StorageLocation,
    string? RunId,
    IReadOnlyList<KeyValue> Tags,
    string? RunLink,
    string? Description,
    string? ModelId,
    string? UserId);

/// <summary>
/// MLflow's model registry store over Azure Table Storage (the counterpart of
/// mlflow/store/model_registry/sqlalchemy_store.py), kept apart from the tracking store as MLflow keeps them.
/// CONTRACT SKELETON: signatures are final; bodies are being implemented.
/// Names are canonical (<see cref="RegistryNames"/>): a create or rename with a name that could display like another
/// is refused; a lookup by such a name finds nothing. Versions are numbers; the wire's string form is parsed by the
/// endpoint. Every "not found" is <see cref="MlflowException"/> with MLflow's message.
/// </summary>
public sealed partial class RegistryStore
{
    public Task<RegisteredModel> CreateRegisteredModelAsync(
        string name, IReadOnlyList<KeyValue> tags, string? description, string? deploymentJobId, CancellationToken ct = default) =>
        throw new NotImplementedException();

    public Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Renames the model; its versions, tags and aliases go with it.</summary>
    public Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>MLflow writes the description even when absent (null clears it to "").</summary>
    public Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, string? deploymentJobId, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>Hard delete, cascading to versions, tags and aliases.</summary>
    public Task DeleteRegisteredModelAsync(string name, CancellationToken ct = default) => throw new NotImplementedException();

    /// <param name="visible">When given, only models whose (canonical) name it accepts, filtered before paging.</param>
    public Task<Page<RegisteredModel>> SearchRegisteredModelsAsync(
        string? filter, int maxResults, IReadOnlyList<string> orderBy, string? pageToken, Func<string, bool>? visible = null,
        CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>Per requested stage (all four when none), the highest-numbered version in it; stages parsed case-insensitively.</summary>
    public Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken ct = default) =>
        throw new NotImplementedException();

    public Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>A missing tag is a silent success; the model must exist.</summary>
    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>The version must exist; an existing alias of that name moves.</summary>
    public Task SetRegisteredModelAliasAsync(string name, string alias, long version, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>A missing alias is a silent success; the model must exist.</summary>
    public Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Unknown alias: 400 INVALID_PARAMETER_VALUE "Registered model alias X not found." (MLflow's, not 404).</summary>
    public Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>Version = 1 + the highest ever issued for the model (deleted ones included): no gaps, no reuse, across instances.</summary>
    public Task<ModelVersion> CreateModelVersionAsync(NewModelVersion version, CancellationToken ct = default) =>
        throw new NotImplementedException();

    public Task<ModelVersion> GetModelVersionAsync(string name, long version, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>The description is changed only when given.</summary>
    public Task<ModelVersion> UpdateModelVersionAsync(string name, long version, string? description, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>Removes the version and the aliases pointing to it; its number is never issued again.</summary>
    public Task DeleteModelVersionAsync(string name, long version, CancellationToken ct = default) => throw new NotImplementedException();

    /// <param name="visible">When given, only versions of models whose (canonical) name it accepts, filtered before paging.</param>
    public Task<Page<ModelVersion>> SearchModelVersionsAsync(
        string? filter, int maxResults, IReadOnlyList<string> orderBy, string? pageToken, Func<string, bool>? visible = null,
        CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>With <paramref name="archiveExistingVersions"/> (Staging/Production only), the other versions in the target
    /// stage move to Archived in the same atomic write.</summary>
    public Task<ModelVersion> TransitionModelVersionStageAsync(
        string name, long version, string stage, bool archiveExistingVersions, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>The version's storage location (its resolved source).</summary>
    public Task<string> GetModelVersionDownloadUriAsync(string name, long version, CancellationToken ct = default) =>
        throw new NotImplementedException();

    public Task SetModelVersionTagAsync(string name, long version, string key, string value, CancellationToken ct = default) =>
        throw new NotImplementedException();

    /// <summary>A missing tag is a silent success; the version must exist.</summary>
    public Task DeleteModelVersionTagAsync(string name, long version, string key, CancellationToken ct = default) =>
        throw new NotImplementedException();
}
