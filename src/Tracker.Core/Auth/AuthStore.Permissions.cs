using Azure;
using Azure.Data.Tables;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Auth;

/// <summary>MLflow's experiment and registered-model permissions: one row per (user, resource) in the user's partition.</summary>
public sealed partial class AuthStore
{
    private const string ExperimentRowPrefix = "e:";
    private const string ModelRowPrefix = "m:";

    /// <summary>Where one grant lives, and how MLflow's messages name it.</summary>
    private readonly record struct Grant(string RowKey, string Column, string Value, string Kind, string What);

    private static Grant ExperimentGrant(string experimentId)
    {
        var id = RunIds.CanonicalExperimentId(experimentId ?? "")
                 ?? throw MlflowException.InvalidParameter($"Invalid experiment id '{Echo.Truncate(experimentId)}'.");
        return new Grant(ExperimentRowPrefix + id, "ExperimentId", id, "Experiment permission", $"experiment_id={id}");
    }

    private static Grant ModelGrant(string name)
    {
        if (string.IsNullOrEmpty(name)) throw MlflowException.InvalidParameter("Registered model name cannot be empty.");
        return new Grant(ModelRowPrefix + TableKeys.Escape(name), "Name", name, "Registered model permission", $"name={Echo.Truncate(name)}");
    }

    public async Task<ExperimentPermission> CreateExperimentPermissionAsync(string experimentId, string userName, Permission permission, CancellationToken ct = default)
    {
        var grant = ExperimentGrant(experimentId);
        var user = await CreateGrantAsync(grant, userName, permission, ct);
        return new ExperimentPermission(grant.Value, user.Id, permission);
    }

    /// <summary>The user's explicit permission on the experiment, or null if none is set (the caller applies the default).</summary>
    public async Task<ExperimentPermission?> GetExperimentPermissionAsync(string experimentId, string userName, CancellationToken ct = default)
    {
        if (RunIds.CanonicalExperimentId(experimentId ?? "") is null) return null;
        var row = await ReadGrantAsync(ExperimentGrant(experimentId!), userName, ct);
        return row is null ? null : ToExperimentPermission(row);
    }

    public Task UpdateExperimentPermissionAsync(string experimentId, string userName, Permission permission, CancellationToken ct = default) =>
        UpdateGrantAsync(ExperimentGrant(experimentId), userName, permission, ct);

    public Task DeleteExperimentPermissionAsync(string experimentId, string userName, CancellationToken ct = default) =>
        DeleteGrantAsync(ExperimentGrant(experimentId), userName, ct);

    public async Task<RegisteredModelPermission> CreateRegisteredModelPermissionAsync(string name, string userName, Permission permission, CancellationToken ct = default)
    {
        var user = await CreateGrantAsync(ModelGrant(name), userName, permission, ct);
        return new RegisteredModelPermission(name, user.Id, permission);
    }

    /// <summary>The user's explicit permission on the registered model, or null if none is set.</summary>
    public async Task<RegisteredModelPermission?> GetRegisteredModelPermissionAsync(string name, string userName, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(name)) return null;
        var row = await ReadGrantAsync(ModelGrant(name), userName, ct);
        return row is null ? null : ToModelPermission(row);
    }

    public Task UpdateRegisteredModelPermissionAsync(string name, string userName, Permission permission, CancellationToken ct = default) =>
        UpdateGrantAsync(ModelGrant(name), userName, permission, ct);

    public Task DeleteRegisteredModelPermissionAsync(string name, string userName, CancellationToken ct = default) =>
        DeleteGrantAsync(ModelGrant(name), userName, ct);

    /// <summary>
    /// After a registered model is renamed, every user's grant on it moves to the new name, as MLflow's auth app does
    /// after <c>registered-models/rename</c> (<c>rename_registered_model_permissions</c>). Grants live in their user's
    /// partition, so this is one query over the table for the model's row key; renames are rare.
    /// </summary>
    public async Task RenameRegisteredModelPermissionsAsync(string oldName, string newName, CancellationToken ct = default)
    {
        var from = ModelGrant(oldName);
        var to = ModelGrant(newName);
        await InitializedAsync(ct);
        try
        {
            foreach (var row in await GrantRowsAsync(from, ct))
            {
                var moved = new TableEntity(row.PartitionKey, to.RowKey)
                {
                    [to.Column] = to.Value, ["UserId"] = row.GetInt64("UserId") ?? 0, ["Permission"] = row.GetString("Permission"),
                };
                // Written before the old row goes, so a failure in between leaves the grant on both names, never on neither.
                await StorageErrors.Call(() => _permissions.UpsertEntityAsync(moved, TableUpdateMode.Replace, ct));
                await StorageErrors.Call(() => _permissions.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, ct));
            }
        }
        finally
        {
            InvalidatePermissions();
        }
    }

    /// <summary>After a registered model is deleted, no grant on its name outlives it (else a new model of that name would inherit them).</summary>
    public async Task DeleteRegisteredModelPermissionsAsync(string name, CancellationToken ct = default)
    {
        var grant = ModelGrant(name);
        await InitializedAsync(ct);
        try
        {
            foreach (var row in await GrantRowsAsync(grant, ct))
                await StorageErrors.Call(() => _permissions.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, ct));
        }
        finally
        {
            InvalidatePermissions();
        }
    }

    private async Task<List<TableEntity>> GrantRowsAsync(Grant grant, CancellationToken ct)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in _permissions.QueryAsync<TableEntity>(Filter($"RowKey eq {grant.RowKey}"), cancellationToken: ct).WithTransientErrors())
            rows.Add(row);
        return rows;
    }

    /// <summary>Every permission row of one user: one partition query.</summary>
    public async Task<UserPermissions> ListPermissionsAsync(string userName, CancellationToken ct = default)
    {
        List<ExperimentPermission> experiments = [];
        List<RegisteredModelPermission> models = [];
        if (TryCanonical(userName) is not { } name) return new UserPermissions(experiments, models);
        await foreach (var row in _permissions.QueryAsync<TableEntity>(Filter($"PartitionKey eq {TableKeys.Escape(name)}"), cancellationToken: ct).WithTransientErrors(tableMayBeMissing: true))
        {
            if (row.RowKey.StartsWith(ExperimentRowPrefix, StringComparison.Ordinal)) experiments.Add(ToExperimentPermission(row));
            else if (row.RowKey.StartsWith(ModelRowPrefix, StringComparison.Ordinal)) models.Add(ToModelPermission(row));
        }
        return new UserPermissions(experiments, models);
    }

    private static ExperimentPermission ToExperimentPermission(TableEntity row) =>
        new(row.GetString("ExperimentId"), row.GetInt64("UserId") ?? 0, Permission.Parse(row.GetString("Permission")));

    private static RegisteredModelPermission ToModelPermission(TableEntity row) =>
        new(row.GetString("Name"), row.GetInt64("UserId") ?? 0, Permission.Parse(row.GetString("Permission")));

    private async Task<AuthUser> CreateGrantAsync(Grant grant, string userName, Permission permission, CancellationToken ct)
    {
        await InitializedAsync(ct);
        var user = await RequireUserAsync(userName, ct);
        var row = new TableEntity(TableKeys.Escape(user.UserName), grant.RowKey)
        {
            [grant.Column] = grant.Value, ["UserId"] = user.Id, ["Permission"] = permission.Name,
        };
        try
        {
            await StorageErrors.Call(() => _permissions.AddEntityAsync(row, ct));
            return user;
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.Conflict)
        {
            throw new MlflowException(ErrorCode.ResourceAlreadyExists,
                $"{grant.Kind} ({grant.What}, username={Echo.Truncate(user.UserName)}) already exists.");
        }
        finally
        {
            InvalidatePermissions();
        }
    }

    private async Task<TableEntity?> ReadGrantAsync(Grant grant, string userName, CancellationToken ct)
    {
        if (TryCanonical(userName) is not { } name) return null;
        var row = await StorageErrors.Call(() => _permissions.GetEntityIfExistsAsync<TableEntity>(TableKeys.Escape(name), grant.RowKey, cancellationToken: ct));
        return row.HasValue ? row.Value : null;
    }

    private async Task UpdateGrantAsync(Grant grant, string userName, Permission permission, CancellationToken ct)
    {
        var name = UserNames.Canonical(userName);
        await InitializedAsync(ct);
        try
        {
            await StorageErrors.Call(() => _permissions.UpdateEntityAsync(
                new TableEntity(TableKeys.Escape(name), grant.RowKey) { ["Permission"] = permission.Name }, ETag.All, TableUpdateMode.Merge, ct));
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            throw GrantNotFound(grant, name);
        }
        finally
        {
            InvalidatePermissions();
        }
    }

    private async Task DeleteGrantAsync(Grant grant, string userName, CancellationToken ct)
    {
        var name = UserNames.Canonical(userName);
        await InitializedAsync(ct);
        try
        {
            var response = await StorageErrors.Call(() => _permissions.DeleteEntityAsync(TableKeys.Escape(name), grant.RowKey, ETag.All, ct));
            if (response.Status == StorageErrors.NotFound) throw GrantNotFound(grant, name);
        }
        finally
        {
            InvalidatePermissions();
        }
    }

    private static MlflowException GrantNotFound(Grant grant, string name) =>
        MlflowException.NotFound($"{grant.Kind} with {grant.What} and username={Echo.Truncate(name)} not found");
}
