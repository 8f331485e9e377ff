using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;

namespace Tracker.Tests.Infrastructure;

/// <summary>
/// A second Azurite, blob service only, that hands out user delegation keys: those go only to OAuth callers, and
/// Azurite's OAuth (<c>--oauth basic</c>) needs HTTPS. So this fixture makes a throwaway self-signed certificate for
/// 127.0.0.1, serves HTTPS with it, and gives clients that trust exactly that certificate and present a bearer token
/// Azurite's basic mode accepts (it checks issuer, audience and lifetime, not the signature).
/// </summary>
public sealed class AzuriteOAuthFixture : IAsyncLifetime
{
    public const string Account = "devstoreaccount1";
    private readonly string _dir = Directory.CreateTempSubdirectory("azurite-oauth-").FullName;
    private X509Certificate2? _certificate;
    private Process? _process;

    /// <summary>The blob endpoint, <c>https://127.0.0.1:{port}/devstoreaccount1</c>.</summary>
    public Uri BlobEndpoint { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (certPem, keyPem) = WriteCertificate();
        var port = AzuriteFixture.FreePort();
        _process = await AzuriteFixture.StartAsync(Path.Combine("blob", "main.js"), _dir,
            "--blobHost", "127.0.0.1", "--blobPort", port.ToString(),
            "--oauth", "basic", "--cert", certPem, "--key", keyPem);
        await AzuriteFixture.WaitForPortAsync(_process, port);
        BlobEndpoint = new Uri($"https://127.0.0.1:{port}/{Account}");
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        _certificate?.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>A service client authenticated like a managed identity, with extra per-call policies (e.g. counters).</summary>
    public BlobServiceClient CreateServiceClient(TokenCredential? credential = null, params HttpPipelinePolicy[] policies)
    {
        var options = new BlobClientOptions { Transport = new HttpClientTransport(CreateHandler()) };
        options.Retry.MaxRetries = 0;
        foreach (var policy in policies) options.AddPolicy(policy, HttpPipelinePosition.PerCall);
        return new BlobServiceClient(BlobEndpoint, credential ?? new FakeEntraCredential(), options);
    }

    /// <summary>A plain HTTP client, as a browser or the MLflow client would use a SAS URL: no credentials of its own.</summary>
    public HttpClient CreateHttpClient() => new(CreateHandler());

    /// <summary>Trusts this fixture's certificate and nothing else.</summary>
    private HttpClientHandler CreateHandler() => new()
    {
        ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.Thumbprint == _certificate!.Thumbprint,
    };

    private (string Cert, string Key) WriteCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var (cert, key) = (Path.Combine(_dir, "cert.pem"), Path.Combine(_dir, "key.pem"));
        File.WriteAllText(cert, _certificate.ExportCertificatePem());
        File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }
}

/// <summary>
/// An unsigned Entra-shaped access token: what Azurite's basic OAuth checks (issuer prefix, audience, nbf/iat/exp) plus
/// the object and tenant ids it derives user delegation keys from. <paramref name="audience"/> lets a test be refused.
/// </summary>
public sealed class FakeEntraCredential(string audience = "https://storage.azure.com") : TokenCredential
{
    public static readonly Guid TenantId = Guid.Parse("72f988bf-86f1-41af-91ab-2d7cd011db47");
    public static readonly Guid ObjectId = Guid.Parse("11059fcc-5514-4800-b5f8-49808b9cfab6");

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var expires = now.AddHours(1);
        var payload = new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["iss"] = $"https://sts.windows.net/{TenantId}/",
            ["iat"] = now.AddMinutes(-5).ToUnixTimeSeconds(),
            ["nbf"] = now.AddMinutes(-5).ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["oid"] = ObjectId,
            ["tid"] = TenantId,
        };
        var token = $"{Base64Url(new { alg = "RS256", typ = "JWT" })}.{Base64Url(payload)}.{Base64Url("not-verified")}";
        return new AccessToken(token, expires);
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));

    private static string Base64Url(object value) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
