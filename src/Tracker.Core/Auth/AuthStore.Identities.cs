using Azure;
using Azure.Data.Tables;
using Tracker.Core.Storage;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Auth;

/// <summary>
/// Microsoft Entra identities mapped to Tracker users, so a person or a training job's managed identity signs in with an
/// Entra token and acts as that user. Keyed by the token's tenant (<c>tid</c>) and object id (<c>oid</c>): both are
/// immutable, unlike a UPN or display name, so a renamed account keeps its mapping and a reused name gets none.
/// </summary>
public sealed partial class AuthStore
{
    private const string EntraPartition = "entra";

    private static string EntraRow(Guid tenantId, Guid objectId) => $"{tenantId:D}_{objectId:D}";

    public async Task<ExternalIdentity> LinkEntraIdentityAsync(Guid tenantId, Guid objectId, string userName, CancellationToken ct = default)
    {
        await InitializedAsync(ct);
        var user = await RequireUserAsync(userName, ct);
        try
        {
            await StorageErrors.Call(() => _users.AddEntityAsync(new TableEntity(EntraPartition, EntraRow(tenantId, objectId))
            {
                ["TenantId"] = tenantId, ["ObjectId"] = objectId, ["UserName"] = user.UserName, ["UserId"] = user.Id,
            }, ct));
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.Conflict)
        {
            throw new MlflowException(ErrorCode.ResourceAlreadyExists, $"Entra identity {tenantId:D}/{objectId:D} is already mapped to a user.");
        }
        return new ExternalIdentity(tenantId, objectId, user.UserName);
    }

    public async Task UnlinkEntraIdentityAsync(Guid tenantId, Guid objectId, CancellationToken ct = default)
    {
        await InitializedAsync(ct);
        try
        {
            var response = await StorageErrors.Call(() => _users.DeleteEntityAsync(EntraPartition, EntraRow(tenantId, objectId), ETag.All, ct));
            if (response.Status == StorageErrors.NotFound)
                throw MlflowException.NotFound($"Entra identity {tenantId:D}/{objectId:D} is not mapped to a user.");
        }
        finally
        {
            Invalidate();
        }
    }

    /// <summary>The user an Entra identity signs in as, or null. Two point reads; <see cref="CredentialVerifier"/> caches it.</summary>
    public async Task<AuthUser?> FindUserByEntraIdentityAsync(Guid tenantId, Guid objectId, CancellationToken ct = default)
    {
        var row = await StorageErrors.Call(() => _users.GetEntityIfExistsAsync<TableEntity>(EntraPartition, EntraRow(tenantId, objectId), cancellationToken: ct));
        if (!row.HasValue) return null;
        var user = await GetUserAsync(row.Value!.GetString("UserName"), ct);
        return user is not null && user.Id == row.Value!.GetInt64("UserId") ? user : null;
    }

    public async Task<IReadOnlyList<ExternalIdentity>> ListEntraIdentitiesAsync(string userName, CancellationToken ct = default)
    {
        if (TryCanonical(userName) is not { } name) return [];
        var identities = new List<ExternalIdentity>();
        await foreach (var row in _users.QueryAsync<TableEntity>(Filter($"PartitionKey eq {EntraPartition} and UserName eq {name}"),
                           select: ["TenantId", "ObjectId", "UserName"], cancellationToken: ct).WithTransientErrors(tableMayBeMissing: true))
            identities.Add(new ExternalIdentity(row.GetGuid("TenantId")!.Value, row.GetGuid("ObjectId")!.Value, row.GetString("UserName")));
        return identities;
    }
}
