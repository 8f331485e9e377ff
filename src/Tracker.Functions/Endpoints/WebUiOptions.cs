using Tracker.Core.Auth;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// The web UI's settings (<c>Tracker:Ui</c>): Microsoft Entra ID sign-in for the UI's users, as a public client (a
/// single-page application registration: authorization code + PKCE, no client secret). The tenant and the API's
/// audience are Tracker's own Entra settings (<see cref="EntraOptions"/>); the UI only needs its own client id.
/// </summary>
public sealed class WebUiOptions
{
    public const string Section = "Tracker:Ui";

    /// <summary>The SPA app registration's application (client) id. Empty: the UI offers no Entra sign-in.</summary>
    public string? EntraClientId { get; set; }

    /// <summary>Scopes the UI asks for, space- or comma-separated; empty means <c>&lt;first audience&gt;/.default</c>.</summary>
    public string? EntraScopes { get; set; }

    public bool IsValid() => string.IsNullOrWhiteSpace(EntraClientId) || Guid.TryParse(EntraClientId, out _);
}

/// <summary>What the UI's Entra sign-in starts from (served in <c>/ui-config.json</c>), when it is configured.</summary>
public sealed record WebUiEntra(string ClientId, string Authority, string[] Scopes)
{
    private const string MetadataSuffix = "/.well-known/openid-configuration";

    /// <summary>The authority's origin: the only other place the UI's pages may connect to or frame (MSAL's renewal).</summary>
    public string Origin => new Uri(Authority).GetLeftPart(UriPartial.Authority);

    /// <summary>Null unless both Tracker's tenant and the UI's client id are set.</summary>
    public static WebUiEntra? From(EntraOptions entra, WebUiOptions ui)
    {
        if (!entra.Enabled || string.IsNullOrWhiteSpace(ui.EntraClientId)) return null;
        var scopes = (ui.EntraScopes ?? "").Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (scopes.Length == 0) scopes = [entra.Audiences[0].TrimEnd('/') + "/.default"];
        return new WebUiEntra(ui.EntraClientId.Trim(), AuthorityOf(entra), scopes);
    }

    /// <summary>
    /// The tenant's authority: the public cloud's by default; with a metadata address (a sovereign cloud) the address
    /// without its OpenID suffix and version, e.g. <c>https://login.microsoftonline.us/{tenant}</c>.
    /// </summary>
    private static string AuthorityOf(EntraOptions entra)
    {
        if (string.IsNullOrWhiteSpace(entra.MetadataAddress)) return $"https://login.microsoftonline.com/{entra.TenantId}";
        var authority = entra.MetadataAddress.Trim();
        if (authority.EndsWith(MetadataSuffix, StringComparison.OrdinalIgnoreCase)) authority = authority[..^MetadataSuffix.Length];
        if (authority.EndsWith("/v2.0", StringComparison.OrdinalIgnoreCase)) authority = authority[..^"/v2.0".Length];
        return authority.TrimEnd('/');
    }
}
