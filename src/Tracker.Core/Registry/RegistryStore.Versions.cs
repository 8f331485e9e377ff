using Azure;
using Azure.Data.Tables;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Registry;

// Model versions: create, get, update, delete, stage transitions, tags, download URI.
public sealed partial class RegistryStore
{
    /// <summary>Version = 1 + the highest ever issued for the model (deleted ones included): no gaps, no reuse, across
    /// instances, since the number is taken from the model row and committed under its ETag.</summary>
    public Task<ModelVersion> CreateModelVersionAsync(NewModelVersion version, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (model, etag) = await RequireModelAsync(version.Name, ct);
            var now = Now();
            var doc = new VersionDocument
            {
                Version = model.NextVersion, CreationTimestamp = now, LastUpdatedTimestamp = now, UserId = version.UserId,
                CurrentStage = ModelStages.None, Description = version.Description ?? "", Source = version.Source, RunId = version.RunId,
                RunLink = version.RunLink ?? "", Tags = Dedupe(version.Tags), ModelId = version.ModelId, StorageLocation = version.StorageLocation,
            };
            model.NextVersion++;
            model.Stages[doc.Version] = doc.CurrentStage;
            model.LastUpdatedTimestamp = now;
            await RecomputeLatestAsync(model, [doc], ct);
            List<TableTransactionAction> actions =
            [
                ReplaceModel(model, etag),
                new(TableTransactionActionType.Add, VersionEntity(model.Id, doc)),
            ];
            return (actions, ToVersion(model, doc));
        }, ct);

    /// <summary>One point read when the version is a latest one (the model row carries it), else two.</summary>
    public Task<ModelVersion> GetModelVersionAsync(string name, long version, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var (model, _) = await ReadModelAsync(name, ct) ?? throw VersionNotFound(name, version);
            return ToVersion(model, await RequireVersionAsync(model, version, ct));
        }, ct);

    /// <summary>The description is changed only when given.</summary>
    public Task<ModelVersion> UpdateModelVersionAsync(string name, long version, string? description, CancellationToken ct = default) =>
        ChangeVersionAsync(name, version, doc =>
        {
            if (description is null) return false;
            doc.Description = description;
            doc.LastUpdatedTimestamp = Now();
            return true;
        }, ct);

    public Task SetModelVersionTagAsync(string name, long version, string key, string value, CancellationToken ct = default) =>
        ChangeVersionAsync(name, version, doc =>
        {
            SetTag(doc.Tags, key, value);
            return true;
        }, ct);

    /// <summary>A missing tag is a silent success; the version must exist.</summary>
    public Task DeleteModelVersionTagAsync(string name, long version, string key, CancellationToken ct = default) =>
        ChangeVersionAsync(name, version, doc => doc.Tags.RemoveAll(t => t.Key == key) > 0, ct);

    /// <summary>Changes one version's document (<paramref name="change"/> says whether it changed anything), with the
    /// model row, which may carry it among its latest versions.</summary>
    private Task<ModelVersion> ChangeVersionAsync(string name, long version, Func<VersionDocument, bool> change, CancellationToken ct) =>
        WriteAsync("the registry", async ct =>
        {
            var (model, etag) = await ReadModelAsync(name, ct) ?? throw VersionNotFound(name, version);
            var doc = await RequireVersionAsync(model, version, ct);
            if (!change(doc)) return (null, ToVersion(model, doc));
            await RecomputeLatestAsync(model, [doc], ct);
            return (new List<TableTransactionAction> { ReplaceModel(model, etag), ReplaceVersion(model.Id, doc) }, ToVersion(model, doc));
        }, ct);

    /// <summary>Removes the version and the aliases pointing to it; its number is never issued again.</summary>
    public Task DeleteModelVersionAsync(string name, long version, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (model, etag) = await ReadModelAsync(name, ct) ?? throw VersionNotFound(name, version);
            if (!model.Stages.Remove(version)) throw VersionNotFound(model.Name, version);
            foreach (var alias in model.Aliases.Where(a => a.Value == version).Select(a => a.Key).ToList()) model.Aliases.Remove(alias);
            model.LastUpdatedTimestamp = Now();
            await RecomputeLatestAsync(model, [], ct);
            List<TableTransactionAction> actions =
            [
                ReplaceModel(model, etag),
                new(TableTransactionActionType.Delete, new TableEntity(Partition, VersionRow(model.Id, version)), ETag.All),
            ];
            return (actions, true);
        }, ct);

    /// <summary>With <paramref name="archiveExistingVersions"/> (Staging/Production only), the other versions in the target
    /// stage move to Archived in the same atomic write (at most <see cref="MaxArchivedPerTransition"/> of them: one
    /// entity-group transaction).</summary>
    public async Task<ModelVersion> TransitionModelVersionStageAsync(
        string name, long version, string stage, bool archiveExistingVersions, CancellationToken ct = default) =>
        (await TransitionStageAsync(name, version, stage, archiveExistingVersions, ct)).Version;

    /// <summary>As <see cref="TransitionModelVersionStageAsync"/>, also naming every version whose stage the write
    /// changed (the lifecycle queue hears of each).</summary>
    public Task<StageTransition> TransitionStageAsync(
        string name, long version, string stage, bool archiveExistingVersions, CancellationToken ct = default)
    {
        var target = ModelStages.Parse(stage);
        if (archiveExistingVersions && target is not (ModelStages.Staging or ModelStages.Production))
            throw MlflowException.InvalidParameter(
                $"Model version transition cannot archive existing model versions because '{Echo.Truncate(stage)}' is not an Active stage. " +
                "Valid stages are ['Staging', 'Production']");
        return WriteAsync("the registry", async ct =>
        {
            var (model, etag) = await ReadModelAsync(name, ct) ?? throw VersionNotFound(name, version);
            var doc = await RequireVersionAsync(model, version, ct);
            var now = Now();
            var changed = new List<VersionDocument> { doc };
            if (archiveExistingVersions) changed.AddRange(await ArchiveOthersAsync(model, version, target, now, ct));
            var stageChanged = changed.Skip(1).Select(v => v.Version).ToList();
            if (doc.CurrentStage != target) stageChanged.Insert(0, version);
            doc.CurrentStage = target;
            doc.LastUpdatedTimestamp = now;
            model.Stages[version] = target;
            model.LastUpdatedTimestamp = now;
            await RecomputeLatestAsync(model, changed, ct);
            var actions = new List<TableTransactionAction> { ReplaceModel(model, etag) };
            actions.AddRange(changed.Select(v => ReplaceVersion(model.Id, v)));
            return (actions, new StageTransition(ToVersion(model, doc), stageChanged));
        }, ct);
    }

    /// <summary>The version's storage location (its resolved source), else its source.</summary>
    public async Task<string> GetModelVersionDownloadUriAsync(string name, long version, CancellationToken ct = default)
    {
        var v = await GetModelVersionAsync(name, version, ct);
        return string.IsNullOrEmpty(v.StorageLocation) ? v.Source : v.StorageLocation;
    }
}
