using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Tracker.Core.Storage;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Auth;

/// <summary>
/// Tracker tokens. A row stores the HMAC-SHA256 of the secret under the server's "token-hash" key (<see cref="ServerKeys"/>),
/// never the secret: a copy of the table lets nobody sign in, and without the key nobody can even test guesses against it.
/// The secret has 256 random bits, so a fast keyed hash is enough; no per-token salt or slow hash is needed.
/// </summary>
public sealed partial class AuthStore
{
    private const string TokenRow = "token";
    public const int MaxTokenNameLength = 100;

    /// <summary>The stored facts the verifier needs; the hash stays inside Core.</summary>
    internal sealed record TokenRecord(TokenInfo Info, long OwnerId, byte[] Hash);

    /// <summary>Creates a token for an existing user. The returned text is the only copy of the secret.</summary>
    public async Task<CreatedToken> CreateTokenAsync(string owner, string name, DateTimeOffset? expiresAt = null, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxTokenNameLength || name.Any(char.IsControl))
            throw MlflowException.InvalidParameter($"Token name must be 1-{MaxTokenNameLength} characters without control characters.");
        var now = _time.GetUtcNow();
        if (expiresAt <= now) throw MlflowException.InvalidParameter("Token expiry must be in the future.");
        await InitializedAsync(ct);
        var user = await RequireUserAsync(owner, ct);
        for (var attempt = 0; ; attempt++)
        {
            var (id, secret, text) = TrackerToken.New();
            var info = new TokenInfo(id, user.UserName, name, now, expiresAt, null, null);
            var row = new TableEntity(id, TokenRow)
            {
                ["Owner"] = user.UserName, ["OwnerId"] = user.Id, ["Name"] = name, ["Hash"] = await HashSecretAsync(secret, ct),
                ["CreatedAt"] = now, ["ExpiresAt"] = expiresAt,
            };
            try
            {
                await StorageErrors.Call(() => _tokens.AddEntityAsync(row, ct));
                return new CreatedToken(info, text);
            }
            catch (RequestFailedException e) when (e.Status == StorageErrors.Conflict && attempt < 3)
            {
                // 36^16 ids make this practically impossible; a fresh id is the answer if it ever happens.
            }
        }
    }

    private const string TokenHashPurpose = "token-hash";

    internal async ValueTask<byte[]> HashSecretAsync(byte[] secret, CancellationToken ct) =>
        HMACSHA256.HashData(await _keys.GetAsync(TokenHashPurpose, ct), secret);

    /// <summary>The secret's hash, or null while Tracker has no server key yet (so no token either): a sign-in's read,
    /// which must not create the key.</summary>
    internal async ValueTask<byte[]?> HashSecretIfKeyExistsAsync(byte[] secret, CancellationToken ct) =>
        await _keys.GetIfExistsAsync(TokenHashPurpose, ct) is { } key ? HMACSHA256.HashData(key, secret) : null;

    /// <summary>A user's tokens, revoked and expired ones included, newest first. A filtered scan of the tokens table:
    /// listing is rare and the table small (a row per token), and one row per token keeps revocation a single write.</summary>
    public async Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string owner, CancellationToken ct = default)
    {
        if (TryCanonical(owner) is not { } name) return [];
        var tokens = new List<TokenInfo>();
        await foreach (var row in _tokens.QueryAsync<TableEntity>(Filter($"Owner eq {name}"), select: InfoColumns, cancellationToken: ct).WithTransientErrors(tableMayBeMissing: true))
            tokens.Add(ToInfo(row));
        return tokens.OrderByDescending(t => t.CreatedAt).ToList();
    }

    private static readonly string[] InfoColumns = ["PartitionKey", "Owner", "Name", "CreatedAt", "ExpiresAt", "LastUsedAt", "RevokedAt"];

    private static TokenInfo ToInfo(TableEntity row) => new(
        row.PartitionKey, row.GetString("Owner"), row.GetString("Name"), row.GetDateTimeOffset("CreatedAt") ?? default,
        row.GetDateTimeOffset("ExpiresAt"), row.GetDateTimeOffset("LastUsedAt"), row.GetDateTimeOffset("RevokedAt"));

    /// <summary>The token's public facts, or null: what the HTTP layer needs to check that a caller revoking a token owns
    /// it (or is an admin).</summary>
    public async Task<TokenInfo?> GetTokenAsync(string tokenId, CancellationToken ct = default) =>
        (await ReadTokenAsync(tokenId, ct))?.Info;

    internal async Task<TokenRecord?> ReadTokenAsync(string tokenId, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(tokenId) || tokenId.Length > 64 || !tokenId.All(char.IsAsciiLetterOrDigit)) return null;
        var row = await StorageErrors.Call(() => _tokens.GetEntityIfExistsAsync<TableEntity>(tokenId, TokenRow, cancellationToken: ct));
        if (!row.HasValue) return null;
        return new TokenRecord(ToInfo(row.Value!), row.Value!.GetInt64("OwnerId") ?? 0, row.Value!.GetBinary("Hash") ?? []);
    }

    /// <summary>Revokes the token (the first revocation time is kept). On this instance it stops working at once; on
    /// others within <see cref="AuthOptions.CredentialCacheSeconds"/>.</summary>
    public async Task<TokenInfo> RevokeTokenAsync(string tokenId, CancellationToken ct = default)
    {
        var token = await ReadTokenAsync(tokenId, ct) ?? throw MlflowException.NotFound($"Token with id={Echo.Truncate(tokenId)} not found");
        if (token.Info.RevokedAt is not null) return token.Info;
        var revokedAt = _time.GetUtcNow();
        try
        {
            await StorageErrors.Call(() => _tokens.UpdateEntityAsync(new TableEntity(tokenId, TokenRow) { ["RevokedAt"] = revokedAt }, ETag.All, TableUpdateMode.Merge, ct));
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            throw MlflowException.NotFound($"Token with id={Echo.Truncate(tokenId)} not found");
        }
        finally
        {
            Invalidate();
        }
        return token.Info with { RevokedAt = revokedAt };
    }

    /// <summary>Records a use, best effort: never awaited by a request, never failing one. A merge of one column, so it
    /// cannot undo a revocation, and a token deleted meanwhile just makes it a no-op (404). Not in the request's context:
    /// neither its storage-request count nor its span includes the write.</summary>
    internal void RecordUseInBackground(string tokenId, DateTimeOffset usedAt)
    {
        using (ExecutionContext.SuppressFlow())
            _ = Task.Run(async () =>
            {
                try
                {
                    await _tokens.UpdateEntityAsync(new TableEntity(tokenId, TokenRow) { ["LastUsedAt"] = usedAt }, ETag.All, TableUpdateMode.Merge);
                }
                catch (Exception e) // best effort by design: whatever goes wrong here must not surface anywhere
                {
                    _logger.LogDebug(e, "Could not record the last use of token {TokenId}", tokenId);
                }
            });
    }
}
