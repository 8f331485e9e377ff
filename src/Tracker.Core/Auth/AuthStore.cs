using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Auth;

/// <summary>
/// Users, their permissions, Tracker tokens and Entra identities: the counterpart of MLflow's auth store
/// (mlflow/server/auth/sqlalchemy_store.py) over Table Storage. It owns three tables, created before its first write;
/// reads do not wait for them (a table not created yet holds no rows), so a cold instance signs its first caller in
/// with point reads alone:
/// <list type="bullet">
/// <item><c>{prefix}users</c>: partition <c>user</c> holds one <c>u:{name}</c> row per user and the <c>counter</c> row
/// that hands out MLflow's integer ids (both written in one entity-group transaction, so ids are unique); partition
/// <c>entra</c> maps <c>{tenantId}_{objectId}</c> to a user name.</item>
/// <item><c>{prefix}tokens</c>: partition = the token's public id, one row: verifying a token is one point read.</item>
/// <item><c>{prefix}permissions</c>: partition = user name, rows <c>e:{experimentId}</c> and <c>m:{model name}</c>: a
/// (user, resource) check is one point read and all of a user's permissions are one partition query.</item>
/// </list>
/// Names in keys go through <see cref="TableKeys.Escape"/>; user names are first made canonical (<see cref="UserNames"/>).
/// Rows that hang off a user carry the user's id as well as the name, so a row left behind by a race with deleting a
/// user can never be inherited by a later user of the same name.
/// </summary>
public sealed partial class AuthStore
{
    private const string UserPartition = "user";
    private const string UserRowPrefix = "u:";
    private const string CounterRow = "counter";
    private const int MaxConflictRetries = 20;

    private readonly TableClient _users;
    private readonly TableClient _tokens;
    private readonly TableClient _permissions;
    private readonly ServerKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<AuthStore> _logger;
    private readonly OnceUntilSuccess _initialized;
    private long _generation;
    private long _permissionsGeneration;

    public AuthStore(TableServiceClient tables, IOptions<StorageOptions> storage, ServerKeys keys, TimeProvider time, ILogger<AuthStore> logger)
    {
        _users = tables.GetTableClient(storage.Value.TablePrefix + "users");
        _tokens = tables.GetTableClient(storage.Value.TablePrefix + "tokens");
        _permissions = tables.GetTableClient(storage.Value.TablePrefix + "permissions");
        _keys = keys;
        _time = time;
        _logger = logger;
        _initialized = CreateTablesOnce([_users, _tokens, _permissions]);
    }

    /// <summary>
    /// Changes whenever this instance changes something a cached sign-in depends on (a password, the admin flag, a
    /// revocation, a deletion), after the write: <see cref="CredentialVerifier"/> drops entries cached under an older
    /// value, so on this instance such a change applies to the very next request.
    /// </summary>
    internal long Generation => Interlocked.Read(ref _generation);

    /// <summary>
    /// Changes whenever this instance writes a permission, and with <see cref="Generation"/>: <see cref="PermissionLookup"/>
    /// drops grants cached under an older value, so a grant applies to the very next request. Kept apart from
    /// <see cref="Generation"/> because every experiment's creation grants its creator MANAGE, and that must not make
    /// every caller's credentials be verified again.
    /// </summary>
    internal long PermissionsGeneration => Interlocked.Read(ref _permissionsGeneration);

    private void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        InvalidatePermissions();
    }

    private void InvalidatePermissions() => Interlocked.Increment(ref _permissionsGeneration);

    /// <summary>Before each write: the tables exist (reads do not wait for them, see the class summary).</summary>
    private Task InitializedAsync(CancellationToken ct) => _initialized.RunAsync().WaitAsync(ct);

    private static string UserRow(string canonicalName) => UserRowPrefix + TableKeys.Escape(canonicalName);

    // ---- users ----

    /// <summary>
    /// MLflow's create_user, except that the password is optional: a user who signs in only with tokens or Entra (the
    /// first admin, a training job) has none, and then no password opens the account.
    /// </summary>
    public async Task<AuthUser> CreateUserAsync(string userName, string? password, bool isAdmin = false, CancellationToken ct = default)
    {
        var name = UserNames.Canonical(userName);
        if (password is not null) Passwords.Validate(password);
        var hash = password is null ? null : Passwords.Hash(password);
        await InitializedAsync(ct);
        if (await ReadUserAsync(name, ct) is not null) throw UserExists(name);
        // Rows a racing delete may have left under this name go first, so the new user starts with nothing.
        await DeleteDependentsAsync(name, ct);
        // A lost race (another user took this id first, or added the counter row first) is retried.
        return await OptimisticAsync("the users table", MaxConflictRetries, async _ =>
        {
            var counter = await StorageErrors.Call(() => _users.GetEntityIfExistsAsync<TableEntity>(UserPartition, CounterRow, cancellationToken: ct));
            var id = counter.HasValue ? counter.Value!.GetInt64("Next") ?? 1 : 1;
            var next = new TableEntity(UserPartition, CounterRow) { ["Next"] = id + 1 };
            var user = new TableEntity(UserPartition, UserRow(name))
            {
                ["UserName"] = name, ["Id"] = id, ["IsAdmin"] = isAdmin, ["PasswordHash"] = hash, ["CreatedAt"] = _time.GetUtcNow(),
            };
            try
            {
                await StorageErrors.Call(() => _users.SubmitTransactionAsync(
                [
                    counter.HasValue
                        ? new(TableTransactionActionType.UpdateReplace, next, counter.Value!.ETag)
                        : new(TableTransactionActionType.Add, next),
                    new(TableTransactionActionType.Add, user),
                ], ct));
                return new AuthUser(id, name, isAdmin, hash is not null);
            }
            catch (TableTransactionFailedException e) when (e.Status == StorageErrors.Conflict && e.FailedTransactionActionIndex == 1)
            {
                throw UserExists(name);
            }
        }, ct, conflictIsLostRace: true);
    }

    private static MlflowException UserExists(string name) =>
        new(ErrorCode.ResourceAlreadyExists, $"User (username={Echo.Truncate(name)}) already exists.");

    private static MlflowException UserNotFound(string name) =>
        MlflowException.NotFound($"User with username={Echo.Truncate(name)} not found");

    /// <summary>The user, or null if there is none (a name that is not canonical names nobody).</summary>
    public async Task<AuthUser?> GetUserAsync(string userName, CancellationToken ct = default) =>
        (await ReadUserAsync(userName, ct))?.User;

    public async Task<AuthUser> RequireUserAsync(string userName, CancellationToken ct = default) =>
        await GetUserAsync(userName, ct) ?? throw UserNotFound(userName);

    /// <summary>The user and their password hash (null: no password), for the verifier.</summary>
    internal async Task<(AuthUser User, string? PasswordHash, ETag ETag)?> ReadUserAsync(string userName, CancellationToken ct)
    {
        if (TryCanonical(userName) is not { } name) return null;
        var row = await StorageErrors.Call(() => _users.GetEntityIfExistsAsync<TableEntity>(UserPartition, UserRow(name), cancellationToken: ct));
        if (!row.HasValue) return null;
        var e = row.Value!;
        var hash = e.GetString("PasswordHash");
        return (new AuthUser(e.GetInt64("Id")!.Value, e.GetString("UserName"), e.GetBoolean("IsAdmin") ?? false, hash is not null), hash, e.ETag);
    }

    public static string? TryCanonical(string? userName)
    {
        try
        {
            return UserNames.Canonical(userName);
        }
        catch (MlflowException)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<AuthUser>> ListUsersAsync(CancellationToken ct = default)
    {
        var users = new List<AuthUser>();
        await foreach (var e in _users.QueryAsync<TableEntity>(
                           RowsWithPrefix(UserPartition, UserRowPrefix),
                           select: ["UserName", "Id", "IsAdmin", "PasswordHash"], cancellationToken: ct).WithTransientErrors(tableMayBeMissing: true))
            users.Add(new AuthUser(e.GetInt64("Id")!.Value, e.GetString("UserName"), e.GetBoolean("IsAdmin") ?? false, e.GetString("PasswordHash") is not null));
        return users;
    }

    public async Task UpdatePasswordAsync(string userName, string password, CancellationToken ct = default)
    {
        Passwords.Validate(password);
        var hash = Passwords.Hash(password);
        await UpdateUserAsync(userName, e => e["PasswordHash"] = hash, ct);
    }

    public Task UpdateAdminAsync(string userName, bool isAdmin, CancellationToken ct = default) =>
        UpdateUserAsync(userName, e => e["IsAdmin"] = isAdmin, ct);

    /// <summary>Merges the changed column only, so a concurrent change to another column is not undone.</summary>
    private async Task UpdateUserAsync(string userName, Action<TableEntity> change, CancellationToken ct)
    {
        var name = UserNames.Canonical(userName);
        await InitializedAsync(ct);
        var entity = new TableEntity(UserPartition, UserRow(name));
        change(entity);
        try
        {
            await StorageErrors.Call(() => _users.UpdateEntityAsync(entity, ETag.All, TableUpdateMode.Merge, ct));
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            throw UserNotFound(name);
        }
        finally
        {
            Invalidate();
        }
    }

    /// <summary>
    /// Deletes the user with their tokens, permissions and Entra identities. Those go first and the user row last, so
    /// a delete that fails half-way can simply be retried; a token or identity row that a racing write leaves behind
    /// is dead anyway, since it names a user id that no longer exists.
    /// </summary>
    public async Task DeleteUserAsync(string userName, CancellationToken ct = default)
    {
        var name = UserNames.Canonical(userName);
        await InitializedAsync(ct);
        if (await ReadUserAsync(name, ct) is null) throw UserNotFound(name);
        try
        {
            await DeleteDependentsAsync(name, ct);
            await StorageErrors.Call(() => _users.DeleteEntityAsync(UserPartition, UserRow(name), ETag.All, ct));
        }
        finally
        {
            Invalidate();
        }
    }

    private async Task DeleteDependentsAsync(string name, CancellationToken ct)
    {
        var partition = TableKeys.Escape(name);
        var permissionRows = new List<TableEntity>();
        await foreach (var e in _permissions.QueryAsync<TableEntity>(Filter($"PartitionKey eq {partition}"), select: ["RowKey"], cancellationToken: ct).WithTransientErrors())
            permissionRows.Add(e);
        // One by one rather than in batches: a row deleted meanwhile by someone else fails a batch, but not a delete.
        foreach (var e in permissionRows)
            await StorageErrors.Call(() => _permissions.DeleteEntityAsync(partition, e.RowKey, ETag.All, ct));
        foreach (var token in await ListTokensAsync(name, ct))
            await StorageErrors.Call(() => _tokens.DeleteEntityAsync(token.Id, TokenRow, ETag.All, ct));
        foreach (var identity in await ListEntraIdentitiesAsync(name, ct))
            await StorageErrors.Call(() => _users.DeleteEntityAsync(EntraPartition, EntraRow(identity.TenantId, identity.ObjectId), ETag.All, ct));
    }
}
