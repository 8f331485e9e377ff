namespace Tracker.Functions.Http;

/// <summary>HTTP settings (<c>Tracker:Http</c>).</summary>
public sealed class HttpOptions
{
    public const string Section = "Tracker:Http";

    /// <summary>
    /// Host names the API answers to besides loopback (security-baseline §1.4: DNS rebinding). In Azure the app's own
    /// host name, set by Bicep as <c>Tracker__Http__AllowedHosts__0</c>.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Whether <c>X-Forwarded-Host</c> is checked as well as <c>Host</c>. Always on under the Functions host (Tracker
    /// then listens on loopback only, so every request comes through the host's proxy, which sets the header); set it
    /// only behind another proxy that overwrites the header. Otherwise the header is ignored.
    /// </summary>
    public bool TrustForwardedHost { get; set; }
}

/// <summary>Diagnostics switches (<c>Tracker:Diagnostics</c>).</summary>
public sealed class DiagnosticsOptions
{
    public const string Section = "Tracker:Diagnostics";

    /// <summary>Adds <c>X-Tracker-Storage-Requests</c> to every response, for the benchmark's requests-per-call figure.</summary>
    public bool StorageRequestHeader { get; set; }
}
