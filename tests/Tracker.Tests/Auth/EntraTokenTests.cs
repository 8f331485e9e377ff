using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// Microsoft Entra ID bearer tokens, validated by the framework's JWT handler against a tenant played locally: an RSA
/// key generated here, its JWKS and OpenID metadata served from a loopback port. Only a token of the configured tenant
/// and audience, from an accepted issuer, unexpired, signed by the tenant's key and naming an identity linked to a
/// Tracker user signs in.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class EntraTokenTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Audience = "api://tracker-tests";
    private const string KeyId = "tenant-key-1";
    private static readonly Guid Tenant = Guid.NewGuid(), OtherTenant = Guid.NewGuid();
    private static readonly Guid Linked = Guid.NewGuid(), Unlinked = Guid.NewGuid();
    private readonly RSA _tenantKey = RSA.Create(2048), _otherKey = RSA.Create(2048);
    private WebApplication _tenant = null!;
    private AuthedApp _app = null!;

    private static string V2Issuer(Guid tenant) => $"https://login.microsoftonline.com/{tenant}/v2.0";

    public async Task InitializeAsync()
    {
        var baseUrl = $"http://127.0.0.1:{AzuriteFixture.FreePort().ToString(CultureInfo.InvariantCulture)}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(baseUrl);
        _tenant = builder.Build();
        var parameters = _tenantKey.ExportParameters(includePrivateParameters: false);
        var metadata = new JsonObject { ["issuer"] = V2Issuer(Tenant), ["jwks_uri"] = baseUrl + "/keys", ["id_token_signing_alg_values_supported"] = new JsonArray("RS256") };
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = KeyId,
                ["n"] = Base64UrlEncoder.Encode(parameters.Modulus), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
            }),
        };
        _tenant.MapGet("/.well-known/openid-configuration", () => Results.Text(metadata.ToJsonString(), "application/json"));
        _tenant.MapGet("/keys", () => Results.Text(jwks.ToJsonString(), "application/json"));
        await _tenant.StartAsync();

        _app = new AuthedApp(azurite, new Dictionary<string, string>
        {
            ["Tracker:Auth:Entra:TenantId"] = Tenant.ToString(),
            ["Tracker:Auth:Entra:Audiences:0"] = Audience,
            ["Tracker:Auth:Entra:MetadataAddress"] = baseUrl + "/.well-known/openid-configuration",
        });
        await _app.Store.CreateUserAsync("trainer", password: null);
        await _app.Store.LinkEntraIdentityAsync(Tenant, Linked, "trainer");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _tenant.DisposeAsync();
        _tenantKey.Dispose();
        _otherKey.Dispose();
    }

    private string Token(Guid? tenant = null, Guid? objectId = null, string audience = Audience, string? issuer = null, RSA? key = null, TimeSpan? expiresIn = null)
    {
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromHours(1));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? V2Issuer(tenant ?? Tenant),
            Audience = audience,
            IssuedAt = expires.AddHours(-2),
            NotBefore = expires.AddHours(-2),
            Expires = expires,
            Claims = new Dictionary<string, object> { ["tid"] = (tenant ?? Tenant).ToString(), ["oid"] = (objectId ?? Linked).ToString() },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key ?? _tenantKey) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
        });
    }

    [Fact]
    public async Task OnlyAValidTokenOfTheTenantForALinkedIdentitySignsIn()
    {
        (string Case, string Token, int Status)[] cases =
        [
            ("linked identity", Token(), 200),
            ("linked identity, v1 issuer", Token(issuer: $"https://sts.windows.net/{Tenant}/"), 200),
            ("unlinked object id", Token(objectId: Unlinked), 401),
            ("wrong audience", Token(audience: "api://someone-else"), 401),
            ("wrong issuer", Token(issuer: $"https://login.example.com/{Tenant}/v2.0"), 401),
            ("expired", Token(expiresIn: TimeSpan.FromMinutes(-10)), 401),
            ("signed by another key", Token(key: _otherKey), 401),
            ("another tenant", Token(tenant: OtherTenant), 401),
            ("another tenant's id under this tenant's issuer", Token(tenant: OtherTenant, issuer: V2Issuer(Tenant)), 401),
        ];
        var failures = new List<string>();
        foreach (var (name, token, expected) in cases)
        {
            var (status, text, challenged) = await _app.StatusAsync(HttpMethod.Post, AuthedApp.Api + "experiments/search", AuthedApp.Bearer(token), new JsonObject());
            if (status != expected || (expected == 401 && !challenged)) failures.Add($"{name}: {status}, expected {expected}; {text}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task AnEntraCallerIsTheLinkedUserForPermissions()
    {
        var bearer = AuthedApp.Bearer(Token());
        var experiment = await _app.CreateExperimentAsync(bearer, "entra-" + Guid.NewGuid().ToString("N"));
        // The creator manages what they created, as the linked Tracker user.
        Assert.Equal("MANAGE", (await _app.Store.GetExperimentPermissionAsync(experiment, "trainer"))?.Permission.Name);
        await _app.GetAsync(bearer, $"experiments/get?experiment_id={experiment}");
    }
}
