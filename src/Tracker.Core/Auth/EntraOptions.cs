namespace Tracker.Core.Auth;

/// <summary>
/// Microsoft Entra ID bearer tokens (<c>Tracker__Auth__Entra__…</c>): managed identities of training jobs and the UI's
/// users. The signing keys come from the tenant's OpenID metadata; each token's tenant and object id map to a Tracker
/// user (<see cref="AuthStore.LinkEntraIdentityAsync"/>).
/// </summary>
public sealed class EntraOptions
{
    /// <summary>The directory (tenant) id whose tokens are accepted. Empty: Entra sign-in is off.</summary>
    public string? TenantId { get; set; }

    /// <summary>The accepted audiences: Tracker's app registration (its application id URI and/or client id).</summary>
    public string[] Audiences { get; set; } = [];

    /// <summary>Accepted issuers; empty means the tenant's v2.0 and v1 issuers.</summary>
    public string[] Issuers { get; set; } = [];

    /// <summary>Where the OpenID metadata is read; empty means the public cloud's for the tenant. Sovereign clouds, and tests.</summary>
    public string? MetadataAddress { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(TenantId);

    public bool IsValid() => !Enabled || (Guid.TryParse(TenantId, out _) && Audiences.Length > 0 &&
                                          (string.IsNullOrWhiteSpace(MetadataAddress) || Uri.TryCreate(MetadataAddress, UriKind.Absolute, out _)));

    public string Metadata => string.IsNullOrWhiteSpace(MetadataAddress)
        ? $"https://login.microsoftonline.com/{TenantId}/v2.0/.well-known/openid-configuration"
        : MetadataAddress;

    public string[] ValidIssuers => Issuers.Length > 0
        ? Issuers
        : [$"https://login.microsoftonline.com/{TenantId}/v2.0", $"https://sts.windows.net/{TenantId}/"];
}
