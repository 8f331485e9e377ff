using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Registry;

// Registered models: create, get, rename, update, delete, tags, aliases, latest versions.
public sealed partial class RegistryStore
{
    public Task<RegisteredModel> CreateRegisteredModelAsync(
        string name, IReadOnlyList<KeyValue> tags, string? description, string? deploymentJobId, CancellationToken ct = default)
    {
        var canonical = RegistryNames.Canonical(name);
        return WriteAsync("the registry", _ =>
        {
            var now = Now();
            var doc = new ModelDocument
            {
                Id = NewModelId(), Name = canonical, CreationTimestamp = now, LastUpdatedTimestamp = now, Description = description ?? "",
                DeploymentJobId = deploymentJobId, Tags = Dedupe(tags),
            };
            List<TableTransactionAction> actions = [new(TableTransactionActionType.Add, ModelEntity(doc))];
            return Task.FromResult<(List<TableTransactionAction>?, RegisteredModel)>((actions, ToModel(doc)));
        }, ct, e => e.Status == StorageErrors.Conflict && e.FailedTransactionActionIndex == 0 ? ModelExists(canonical) : null);
    }

    /// <summary>One point read: the model row carries tags, aliases and the latest version per stage.</summary>
    public Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => ToModel((await RequireModelAsync(name, ct)).Doc), ct);

    /// <summary>Renames the model; its versions, tags and aliases go with it (version rows are keyed by the model's id).</summary>
    public Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken ct = default)
    {
        var canonicalNew = RegistryNames.Canonical(newName, "new_name");
        return WriteAsync("the registry", async ct =>
        {
            var (doc, etag) = await RequireModelAsync(name, ct);
            if (doc.Name == canonicalNew) return (null, ToModel(doc));
            var oldName = doc.Name;
            doc.Name = canonicalNew;
            doc.LastUpdatedTimestamp = doc.RenamedAt = Now();
            List<TableTransactionAction> actions =
            [
                new(TableTransactionActionType.Delete, new TableEntity(Partition, ModelRow(oldName)), etag),
                new(TableTransactionActionType.Add, ModelEntity(doc)),
            ];
            return (actions, ToModel(doc));
        }, ct, e => e.Status == StorageErrors.Conflict && e.FailedTransactionActionIndex == 1 ? ModelExists(canonicalNew) : null);
    }

    /// <summary>MLflow writes the description even when absent (null clears it to ""); the deployment job id only when given.</summary>
    public Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, string? deploymentJobId, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (doc, etag) = await RequireModelAsync(name, ct);
            doc.Description = description ?? "";
            if (deploymentJobId is not null) doc.DeploymentJobId = deploymentJobId;
            doc.LastUpdatedTimestamp = Now();
            return (new List<TableTransactionAction> { ReplaceModel(doc, etag) }, ToModel(doc));
        }, ct);

    /// <summary>
    /// Hard delete, cascading to versions, tags and aliases. The model row goes first, in one transaction: the model
    /// and everything hanging off it are gone at once. Its version rows, now invisible, are then deleted in batches;
    /// if that stops half-way, what is left is never read again.
    /// </summary>
    public Task DeleteRegisteredModelAsync(string name, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var modelId = await WriteAsync("the registry", async ct =>
            {
                var (doc, etag) = await RequireModelAsync(name, ct);
                return (new List<TableTransactionAction> { new(TableTransactionActionType.Delete, new TableEntity(Partition, ModelRow(doc.Name)), etag) }, doc.Id);
            }, ct);
            try
            {
                await DeleteVersionRowsAsync(modelId, ct);
            }
            catch (MlflowException e)
            {
                _logger.LogWarning(e, "Version rows of deleted model {ModelId} were left behind; they are invisible", modelId);
            }
        }, ct);

    private async Task DeleteVersionRowsAsync(string modelId, CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var row in _table.QueryAsync<TableEntity>(RowsWithPrefix(Partition, VersionRowPrefixOf(modelId)), select: ["RowKey"], cancellationToken: ct)
                           .WithTransientErrors())
            keys.Add(row.RowKey);
        foreach (var batch in keys.Chunk(100))
            await StorageErrors.Call(() => _table.SubmitTransactionAsync(
                batch.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(Partition, k), ETag.All)), ct));
    }

    /// <summary>Per requested stage (all four when none), the highest-numbered version in it; stages parsed case-insensitively.</summary>
    public Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken ct = default)
    {
        var wanted = stages.Count == 0 ? ModelStages.All : stages.Select(ModelStages.Parse).Distinct().ToList();
        return WithinBudget<IReadOnlyList<ModelVersion>>(_requestTimeout, async ct =>
        {
            var (doc, _) = await RequireModelAsync(name, ct);
            return doc.Latest.Where(v => wanted.Contains(v.CurrentStage)).Select(v => ToVersion(doc, v)).ToList(); // in the model's order, as MLflow
        }, ct);
    }

    /// <summary>Tags and aliases do not change the model's last_updated_timestamp (spec §6.7).</summary>
    public Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (doc, etag) = await RequireModelAsync(name, ct);
            SetTag(doc.Tags, key, value);
            return (new List<TableTransactionAction> { ReplaceModel(doc, etag) }, true);
        }, ct);

    /// <summary>A missing tag is a silent success; the model must exist.</summary>
    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (doc, etag) = await RequireModelAsync(name, ct);
            return (doc.Tags.RemoveAll(t => t.Key == key) == 0 ? null : new List<TableTransactionAction> { ReplaceModel(doc, etag) }, true);
        }, ct);

    /// <summary>The version must exist; an existing alias of that name moves.</summary>
    public Task SetRegisteredModelAliasAsync(string name, string alias, long version, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (doc, etag) = await RequireModelAsync(name, ct);
            if (!doc.Stages.ContainsKey(version)) throw VersionNotFound(doc.Name, version);
            doc.Aliases[alias] = version;
            return (new List<TableTransactionAction> { ReplaceModel(doc, etag) }, true);
        }, ct);

    /// <summary>A missing alias is a silent success; the model must exist.</summary>
    public Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken ct = default) =>
        WriteAsync("the registry", async ct =>
        {
            var (doc, etag) = await RequireModelAsync(name, ct);
            return (doc.Aliases.Remove(alias) ? new List<TableTransactionAction> { ReplaceModel(doc, etag) } : null, true);
        }, ct);

    /// <summary>
    /// Unknown alias: 400 INVALID_PARAMETER_VALUE "Registered model alias X not found." (MLflow's, not 404). "latest" (any
    /// case, reserved so never set) is the first of the model's latest versions (spec §3.1 R12), 404 when it has none.
    /// </summary>
    public Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var (doc, _) = await RequireModelAsync(name, ct);
            if (doc.Aliases.TryGetValue(alias, out var version)) return ToVersion(doc, await RequireVersionAsync(doc, version, ct));
            if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
                return doc.Latest.Count > 0 ? ToVersion(doc, doc.Latest[0]) : throw MlflowException.NotFound($"No versions of registered model {Echo.Truncate(doc.Name)} found.");
            throw MlflowException.InvalidParameter($"Registered model alias {Echo.Truncate(alias)} not found.");
        }, ct);
}
