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

    /// <summary>
    /// Local runs only: no credential is asked for. Refused (the app does not start) unless every address Tracker
    /// listens on is loopback, and always under the Functions host, which forwards the internet's requests.
    /// </summary>
    public bool Disabled { get; set; }

    /// <summary>
    /// What a signed-in user may do with an experiment or registered model nobody granted them anything on. MLflow's
    /// basic-auth app ships READ: a team sees each other's work and changes only its own (creators get MANAGE).
    /// </summary>
    public string DefaultPermission { get; set; } = "READ";

    /// <summary>Microsoft Entra ID sign-in; off while <see cref="EntraOptions.TenantId"/> is empty.</summary>
    public EntraOptions Entra { get; set; } = new();

    public Permission Default => Permission.Parse(DefaultPermission);

    public bool IsValid() => ServerKeys.IsValidSetting(ServerKey) && CredentialCacheSeconds is >= 0 and <= 300 &&
                             Permission.TryParse(DefaultPermission, out _) && Entra.IsValid();
}
