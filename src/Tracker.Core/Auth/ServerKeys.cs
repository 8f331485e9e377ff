using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;

namespace Tracker.Core.Auth;

/// <summary>
/// Tracker's one secret, from which each use derives its own key (HKDF with the use's name), so a value signed for one
/// purpose (a page token) can never pass as another (a token hash). It is either a setting (<see
/// cref="AuthOptions.ServerKey"/>) or generated into storage by the first instance that needs it: insert-if-absent, so
/// instances starting together agree on one key. Read once per instance on first use, never at start-up.
/// </summary>
public sealed class ServerKeys
{
    public const int MinimumKeyBytes = 32;
    private const string Partition = "server";
    private const string Row = "key";
    private const string KeyColumn = "Key";

    private readonly TableClient _table;
    private readonly string? _configured;
    private readonly ConcurrentDictionary<string, byte[]> _derived = new();
    private byte[]? _master;

    public ServerKeys(TableServiceClient tables, IOptions<StorageOptions> storage, IOptions<AuthOptions> auth)
    {
        _table = tables.GetTableClient(storage.Value.TablePrefix + "keys");
        _configured = auth.Value.ServerKey;
    }

    /// <summary>The key for <paramref name="purpose"/> (e.g. "page-token"): 32 bytes, the same on every instance.</summary>
    public async ValueTask<byte[]> GetAsync(string purpose, CancellationToken cancellationToken = default)
    {
        if (_derived.TryGetValue(purpose, out var key)) return key;
        // Two callers may load at once; storage hands both the same key, so either result may win.
        var master = _master ??= await LoadAsync(cancellationToken);
        return _derived.GetOrAdd(purpose, p => HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, salt: [], info: Encoding.UTF8.GetBytes(p)));
    }

    /// <summary>The key for <paramref name="purpose"/> if the secret exists (a setting, or in storage), else null, never
    /// creating it: for reads that may come before anything was written (a sign-in reads it alongside the token's row,
    /// and a token can only exist once the secret does).</summary>
    public async ValueTask<byte[]?> GetIfExistsAsync(string purpose, CancellationToken cancellationToken = default)
    {
        if (_master is null && string.IsNullOrWhiteSpace(_configured))
        {
            if (await StorageErrors.Call(() => ReadStoredAsync(cancellationToken)) is not { } stored) return null;
            _master = stored;
        }
        return await GetAsync(purpose, cancellationToken);
    }

    /// <summary>Whether a configured key is usable; checked at start-up so a bad setting fails the deployment early.</summary>
    public static bool IsValidSetting(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return true;
        var bytes = new byte[value.Length];
        return Convert.TryFromBase64String(value.Trim(), bytes, out var n) && n >= MinimumKeyBytes;
    }

    private async Task<byte[]> LoadAsync(CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(_configured)) return Convert.FromBase64String(_configured.Trim());
        return await StorageErrors.Call(async () =>
        {
            // The table is created only when the key is missing.
            if (await ReadStoredAsync(ct) is { } stored) return stored;
            await TableStorage.CreateIfMissingAsync(_table, ct);
            var fresh = RandomNumberGenerator.GetBytes(MinimumKeyBytes);
            try
            {
                await _table.AddEntityAsync(new TableEntity(Partition, Row) { [KeyColumn] = fresh }, ct);
                return fresh;
            }
            catch (Azure.RequestFailedException e) when (e.Status == StorageErrors.Conflict)
            {
                // Another instance generated it first: use theirs.
                var winner = await _table.GetEntityAsync<TableEntity>(Partition, Row, [KeyColumn], ct);
                return winner.Value.GetBinary(KeyColumn);
            }
        });
    }

    /// <summary>The stored secret, or null (a table not created yet reads as no row: any 404 does).</summary>
    private async Task<byte[]?> ReadStoredAsync(CancellationToken ct)
    {
        var existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, Row, [KeyColumn], ct);
        return existing.HasValue && existing.Value!.GetBinary(KeyColumn) is { Length: >= MinimumKeyBytes } stored ? stored : null;
    }
}
