namespace Tracker.Core.Auth;

/// <summary>Authentication and signing settings, from the Bicep app settings <c>Tracker__Auth__…</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Tracker:Auth";

    /// <summary>
    /// Base64 of at least 32 random bytes (e.g. a Key Vault reference). Empty: Tracker generates its key into storage the
    /// first time an instance needs it (<see cref="ServerKeys"/>).
    /// </summary>
    public string? ServerKey { get; set; }

    /// <summary>
    /// How long a verified credential is trusted without reading storage again (<see cref="CredentialVerifier"/>): the
    /// longest a revocation, a deleted user or a changed password takes to reach the other instances. 0 turns the cache
    /// off. At most 300, so a token in use is re-read at least as often as its last-used time is recorded.
    /// </summary>
    public int CredentialCacheSeconds { get; set; } = 30;

    public bool IsValid() => ServerKeys.IsValidSetting(ServerKey) && CredentialCacheSeconds is >= 0 and <= 300;
}
