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
}
