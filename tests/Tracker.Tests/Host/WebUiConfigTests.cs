using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Functions.Http;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Host;

/// <summary>
/// What the UI starts from (<c>/ui-config.json</c>) and the pages' CSP: Entra sign-in is offered only when Tracker's
/// tenant and the UI's client id are both set, and only then may the pages reach the authority's origin (connect and
/// frame, for MSAL's silent renewal), nothing else.
/// </summary>
public sealed class WebUiConfigTests
{
    private const string Tenant = "6f1c2a3b-0d4e-4f5a-9b8c-7d6e5f4a3b2c";
    private const string ClientId = "0a1b2c3d-1111-2222-3333-444455556666";

    private sealed class App(Dictionary<string, string> settings) : TrackerAppFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Tracker:Auth:Disabled", "false");
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
        }
    }

    private static async Task<(JsonNode Config, string PageCsp, string AssetCsp)> ReadAsync(Dictionary<string, string> settings)
    {
        await using var app = new App(settings);
        using var http = app.CreateClient();
        using var configResponse = await http.GetAsync("/ui-config.json");
        Assert.Equal("no-store", configResponse.Headers.CacheControl?.ToString());
        var config = JsonNode.Parse(await configResponse.Content.ReadAsStringAsync())!;
        using var page = await http.GetAsync("/models");
        var html = await page.Content.ReadAsStringAsync();
        var asset = System.Text.RegularExpressions.Regex.Match(html, "src=\"(/assets/[^\"]+\\.js)\"").Groups[1].Value;
        using var assetResponse = await http.GetAsync(asset);
        Assert.Equal(200, (int)assetResponse.StatusCode);
        return (config, string.Join(";", page.Headers.GetValues("Content-Security-Policy")), string.Join(";", assetResponse.Headers.GetValues("Content-Security-Policy")));
    }

    private static Dictionary<string, string> Entra(string? clientId = ClientId, string? scopes = null, string? metadata = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Tracker:Auth:Entra:TenantId"] = Tenant,
            ["Tracker:Auth:Entra:Audiences:0"] = "api://tracker-prod",
            ["Tracker:Auth:Entra:Audiences:1"] = "api://tracker-other",
        };
        if (clientId is not null) settings["Tracker:Ui:EntraClientId"] = clientId;
        if (scopes is not null) settings["Tracker:Ui:EntraScopes"] = scopes;
        if (metadata is not null) settings["Tracker:Auth:Entra:MetadataAddress"] = metadata;
        return settings;
    }

    [Fact]
    public async Task WithoutEntraTheConfigOffersNoneAndTheCspReachesOnlyThisOrigin()
    {
        var (config, pageCsp, assetCsp) = await ReadAsync([]);
        Assert.True((bool)config["auth"]!);
        Assert.Null(config["entra"]);
        foreach (var csp in new[] { pageCsp, assetCsp })
        {
            Assert.Contains("connect-src 'self';", csp);
            Assert.Contains("frame-src 'none';", csp);
            Assert.DoesNotContain("login.microsoftonline.com", csp);
        }
    }

    [Fact]
    public async Task ATenantWithoutTheUisClientIdOffersNoEntraSignIn()
    {
        var (config, pageCsp, _) = await ReadAsync(Entra(clientId: null));
        Assert.Null(config["entra"]);
        Assert.Contains("connect-src 'self';", pageCsp);
        Assert.Contains("frame-src 'none';", pageCsp);
    }

    [Fact]
    public async Task WithTenantAndClientIdTheConfigNamesThePublicClientAndTheCspAddsOnlyTheAuthority()
    {
        var (config, pageCsp, assetCsp) = await ReadAsync(Entra());
        var entra = config["entra"]!;
        Assert.Equal(ClientId, (string?)entra["clientId"]);
        Assert.Equal($"https://login.microsoftonline.com/{Tenant}", (string?)entra["authority"]);
        // The first audience's default scope: the permissions the API exposes and the user (or an admin) consented to.
        Assert.Equal(["api://tracker-prod/.default"], entra["scopes"]!.AsArray().Select(s => (string?)s));
        Assert.DoesNotContain("secret", config.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        foreach (var csp in new[] { pageCsp, assetCsp })
        {
            Assert.Contains("connect-src 'self' https://login.microsoftonline.com;", csp);
            Assert.Contains("frame-src https://login.microsoftonline.com;", csp);
            Assert.Contains("script-src 'self';", csp);
            Assert.Contains("form-action 'self';", csp);
            Assert.Equal(2, csp.Split("login.microsoftonline.com").Length - 1);
        }
    }

    [Fact]
    public async Task AClientIdThatIsNotAnApplicationIdStopsStartUp()
    {
        var refused = await StartUpCheck.RefusalAsync(Entra(clientId: "tracker-ui").ToDictionary(s => s.Key, string? (s) => s.Value),
            services => services.AddSingleton(TimeProvider.System).AddTrackerHttp());
        Assert.Contains("EntraClientId", refused.Message);
    }

    [Fact]
    public async Task ConfiguredScopesAndASovereignCloudsMetadataAreRespected()
    {
        var (config, pageCsp, _) = await ReadAsync(Entra(scopes: "api://tracker-prod/runs.read, api://tracker-prod/runs.write",
            metadata: $"https://login.microsoftonline.us/{Tenant}/v2.0/.well-known/openid-configuration"));
        var entra = config["entra"]!;
        Assert.Equal($"https://login.microsoftonline.us/{Tenant}", (string?)entra["authority"]);
        Assert.Equal(["api://tracker-prod/runs.read", "api://tracker-prod/runs.write"], entra["scopes"]!.AsArray().Select(s => (string?)s));
        Assert.Contains("connect-src 'self' https://login.microsoftonline.us;", pageCsp);
        Assert.Contains("frame-src https://login.microsoftonline.us;", pageCsp);
        Assert.DoesNotContain("login.microsoftonline.com", pageCsp);
    }
}
