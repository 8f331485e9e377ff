using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Tracker.Core.Auth;

/// <summary>Why a credential was refused, for the sign-in log (which never records the secret itself).</summary>
public enum SignInFailure
{
    /// <summary>Not the shape of a Tracker token.</summary>
    Malformed,
    UnknownToken,
    /// <summary>The token id exists but the secret is not its secret (tampered or guessed).</summary>
    WrongSecret,
    Expired,
    Revoked,
    /// <summary>No such user (or not a canonical user name); also a token or identity whose user was deleted.</summary>
    UnknownUser,
    WrongPassword,
    /// <summary>The user has no password (signs in with tokens or Entra only).</summary>
    NoPassword,
    /// <summary>HTTP Basic with a valid token that belongs to another user than the one named.</summary>
    TokenOfAnotherUser,
}

/// <summary>The outcome of one verification: the signed-in user, or why not.</summary>
public readonly record struct SignInResult(AuthUser? User, SignInFailure? Failure, string? TokenId = null)
{
    public bool Succeeded => User is not null;
    internal static SignInResult Fail(SignInFailure failure, string? tokenId = null) => new(null, failure, tokenId);
}

/// <summary>
/// Verifies the credentials a request presents: a Tracker token (Bearer), HTTP Basic with a password or a token, and an
/// Entra identity already validated by the JWT handler. Successes are cached in memory for
/// <see cref="AuthOptions.CredentialCacheSeconds"/>, so a busy client costs no storage read and no PBKDF2 run per request.
///
/// How a change propagates: this instance drops its cached entries at once when its <see cref="AuthStore"/> revokes a
/// token, deletes a user, or changes a password or the admin flag (<see cref="AuthStore.Generation"/>); other instances
/// re-read storage when their entry expires, so within the cache lifetime (30 s by default). Failures are never cached,
/// and cache keys are HMACs of the credential under a per-process random key, so no usable secret sits in memory.
/// </summary>
public sealed class CredentialVerifier : IDisposable
{
    /// <summary>Last-used times are written at most this often per token (per instance), never on the request's path.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(5);
    private const int MaxEntries = 10_000;

    private readonly AuthStore _store;
    private readonly PermissionLookup? _permissions;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly byte[] _cacheKey = RandomNumberGenerator.GetBytes(32);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxEntries });
    // A hash to check unknown users' passwords against, so a wrong user name costs as long as a wrong password.
    private static readonly Lazy<string> DecoyHash = new(() => Passwords.Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));

    private sealed record Entry(AuthUser User, string? TokenId, long Generation, DateTimeOffset ValidUntil);

    /// <summary>A result, and for a token its expiry, which bounds how long the success may be cached.</summary>
    private readonly record struct Verified(SignInResult Result, DateTimeOffset? ExpiresAt = null)
    {
        public static implicit operator Verified(SignInResult result) => new(result);
    }

    /// <param name="permissions">Where a signed-in user's grants are kept: a token's sign-in reads them alongside its
    /// owner's row (see <see cref="VerifyTokenCoreAsync"/>).</param>
    public CredentialVerifier(AuthStore store, IOptions<AuthOptions> options, TimeProvider time, PermissionLookup? permissions = null)
    {
        _store = store;
        _permissions = permissions;
        _time = time;
        _ttl = TimeSpan.FromSeconds(options.Value.CredentialCacheSeconds);
    }

    /// <summary><c>Authorization: Bearer trk_…</c>.</summary>
    public Task<SignInResult> VerifyTokenAsync(string token, CancellationToken ct = default) =>
        Cached(Key("bearer", token), ct => VerifyTokenCoreAsync(token, ct), ct);

    /// <summary>
    /// <c>Authorization: Basic</c>: what the MLflow client sends when MLFLOW_TRACKING_USERNAME and _PASSWORD are set. A
    /// password shaped like a Tracker token is verified as one and must belong to the user named; anything else is the
    /// user's password.
    /// </summary>
    public Task<SignInResult> VerifyBasicAsync(string userName, string password, CancellationToken ct = default) =>
        Cached(Key("basic", userName, password), async ct =>
        {
            var name = AuthStore.TryCanonical(userName);
            if (password.StartsWith(TrackerToken.Prefix, StringComparison.Ordinal))
            {
                var verified = await VerifyTokenCoreAsync(password, ct);
                var result = verified.Result;
                return !result.Succeeded || result.User!.UserName == name ? verified : SignInResult.Fail(SignInFailure.TokenOfAnotherUser, result.TokenId);
            }
            var stored = name is null ? null : await _store.ReadUserAsync(name, ct);
            if (stored is null)
            {
                Passwords.Verify(password, DecoyHash.Value);
                return SignInResult.Fail(SignInFailure.UnknownUser);
            }
            var (user, hash, _) = stored.Value;
            if (hash is null) return SignInResult.Fail(SignInFailure.NoPassword);
            return Passwords.Verify(password, hash) ? new SignInResult(user, null) : SignInResult.Fail(SignInFailure.WrongPassword);
        }, ct);

    /// <summary>The user an Entra identity maps to (after the JWT handler validated the token), cached like the others.</summary>
    public Task<SignInResult> ResolveEntraAsync(Guid tenantId, Guid objectId, CancellationToken ct = default) =>
        Cached(Key("entra", tenantId.ToString("D"), objectId.ToString("D")), async ct =>
            await _store.FindUserByEntraIdentityAsync(tenantId, objectId, ct) is { } user
                ? new SignInResult(user, null)
                : (Verified)SignInResult.Fail(SignInFailure.UnknownUser), ct);

    /// <summary>
    /// A token's sign-in, in two round trips on a cold instance: the token's row and the server key its secret is hashed
    /// with, side by side; then its owner's row and the owner's grants (which nearly every request checks next), side
    /// by side. A grants read that fails is left to the permission check, which reads them again.
    /// </summary>
    private async Task<Verified> VerifyTokenCoreAsync(string token, CancellationToken ct)
    {
        if (!TrackerToken.TryParse(token, out var id, out var secret)) return SignInResult.Fail(SignInFailure.Malformed);
        var read = _store.ReadTokenAsync(id, ct);
        var hashed = _store.HashSecretIfKeyExistsAsync(secret, ct).AsTask();
        await Task.WhenAll(read, hashed);
        var stored = await read;
        if (stored is null) return SignInResult.Fail(SignInFailure.UnknownToken, id);
        if (await hashed is not { } hash || !CryptographicOperations.FixedTimeEquals(hash, stored.Hash))
            return SignInResult.Fail(SignInFailure.WrongSecret, id);
        var now = _time.GetUtcNow();
        if (stored.Info.RevokedAt is not null) return SignInResult.Fail(SignInFailure.Revoked, id);
        if (stored.Info.ExpiresAt <= now) return SignInResult.Fail(SignInFailure.Expired, id);
        // The owner's current row: a token outlives neither its user nor a user re-created under the same name.
        var owner = _store.GetUserAsync(stored.Info.Owner, ct);
        if (_permissions is not null) await Task.WhenAll(owner, _permissions.PrefetchAsync(stored.Info.Owner, ct));
        var user = await owner;
        if (user is null || user.Id != stored.OwnerId) return SignInResult.Fail(SignInFailure.UnknownUser, id);
        if (stored.Info.LastUsedAt is not { } last || now - last >= LastUsedResolution)
        {
            // The cache entry's lifetime is at most LastUsedResolution, so a token in use is re-read (and this
            // checked) at least that often; the marker keeps a burst of first uses to one write per instance.
            if (_cache.TryGetValue(("used", id), out _) is false)
            {
                _cache.Set(("used", id), true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = LastUsedResolution });
                _store.RecordUseInBackground(id, now);
            }
        }
        return new Verified(new SignInResult(user, null, id), stored.Info.ExpiresAt);
    }

    private async Task<SignInResult> Cached(string key, Func<CancellationToken, Task<Verified>> verify, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out Entry? hit) && hit!.Generation == _store.Generation && now < hit.ValidUntil)
            return new SignInResult(hit.User, null, hit.TokenId);
        // Read before verifying: a change made during the verification makes this entry stale at once.
        var generation = _store.Generation;
        var (result, expiresAt) = await verify(ct);
        if (result.Succeeded && _ttl > TimeSpan.Zero)
        {
            var validUntil = expiresAt < now + _ttl ? expiresAt.Value : now + _ttl;
            _cache.Set(key, new Entry(result.User!, result.TokenId, generation, validUntil),
                new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _ttl });
        }
        return result;
    }

    /// <summary>An HMAC of the presented credential's parts, each length-prefixed so no two credentials share a key.</summary>
    private string Key(string scheme, params string[] parts)
    {
        var text = new StringBuilder(scheme);
        foreach (var part in parts) text.Append('\n').Append(part.Length).Append(':').Append(part);
        return Convert.ToBase64String(HMACSHA256.HashData(_cacheKey, Encoding.UTF8.GetBytes(text.ToString())));
    }

    public void Dispose() => _cache.Dispose();
}
