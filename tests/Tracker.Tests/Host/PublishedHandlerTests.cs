using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tracker.Tests.Infrastructure;
using Tracker.Tests.Integration;
using Tracker.Tests.Triggers;

namespace Tracker.Tests.Host;

/// <summary>
/// The published handler, what azd deploys, run the way the Functions host runs it (its port in
/// FUNCTIONS_CUSTOMHANDLER_PORT, so auth is on) against Azurite. It is a native (AOT) build, and a native build fails
/// at run time, not at build time, wherever something reflects on code its compiler could not see (an SDK's binder, a
/// serializer without generated metadata): the in-process tests run the JIT build and cannot vouch for it. So the
/// recorded MLflow traffic is replayed against it, and the host's trigger invocations are sent to it.
/// </summary>
[Collection(PublishedCollection.Name)]
public sealed class PublishedHandlerTests(PublishFixture publish, AzuriteFixture azurite)
{
    /// <summary>The host's queue invocation (as in <see cref="HostInvocationTests.HostPayload"/>) of a lifecycle message.</summary>
    private const string LifecyclePayload = """
        { "Data": { "msg": "\"{\\\"kind\\\":\\\"run_deleted\\\",\\\"run_id\\\":\\\"0123456789abcdef0123456789abcdef\\\"}\"" },
          "Metadata": { "DequeueCount": "1", "Id": "\"5f3c2a9e-7d1b-4c2e-9a51-0b6f1e2d3c4b\"",
            "sys": { "MethodName": "Lifecycle", "UtcNow": "2025-11-13T10:00:01.2205399Z" } } }
        """;

    private readonly string _tablePrefix = "n" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task TheRecordedMlflowTrafficBehavesTheSame()
    {
        await using var tracker = await StartAsync();
        // The published handler's own management command, as an operator runs it in Azure.
        var token = await AdminAsync("create-token", "--user", "replayer", "--name", "published-replay");

        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = tracker.Url };
        using (var anonymous = await client.GetAsync(new Uri("/api/2.0/mlflow/experiments/get?experiment_id=0", UriKind.Relative)))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode); // auth is really on
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        await new WireReplay().RunAsync(client);
    }

    /// <summary>
    /// A training job's managed identity signs in with a Microsoft Entra token (the framework's JWT handler, its OpenID
    /// metadata and keys fetched from a tenant played locally), linked to a user by the published handler's own admin
    /// command; a token signed by another key does not.
    /// </summary>
    [Fact]
    public async Task AnEntraTokenOfALinkedIdentitySignsIn()
    {
        using var tenantKey = RSA.Create(2048);
        using var otherKey = RSA.Create(2048);
        var (tenant, objectId) = (Guid.NewGuid(), Guid.NewGuid());
        var issuer = $"https://login.microsoftonline.com/{tenant}/v2.0";
        var baseUrl = $"http://127.0.0.1:{AzuriteFixture.FreePort().ToString(CultureInfo.InvariantCulture)}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(baseUrl);
        await using var tenantHost = builder.Build();
        var key = tenantKey.ExportParameters(includePrivateParameters: false);
        var metadata = new JsonObject { ["issuer"] = issuer, ["jwks_uri"] = baseUrl + "/keys", ["id_token_signing_alg_values_supported"] = new JsonArray("RS256") };
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = "k1",
                ["n"] = Base64UrlEncoder.Encode(key.Modulus), ["e"] = Base64UrlEncoder.Encode(key.Exponent),
            }),
        };
        tenantHost.MapGet("/.well-known/openid-configuration", () => Results.Text(metadata.ToJsonString(), "application/json"));
        tenantHost.MapGet("/keys", () => Results.Text(jwks.ToJsonString(), "application/json"));
        await tenantHost.StartAsync();

        await using var tracker = await StartAsync(new Dictionary<string, string>
        {
            ["Tracker__Auth__Entra__TenantId"] = tenant.ToString(),
            ["Tracker__Auth__Entra__Audiences__0"] = "api://tracker-tests",
            ["Tracker__Auth__Entra__MetadataAddress"] = baseUrl + "/.well-known/openid-configuration",
        });
        await AdminAsync("link-entra", "--user", "trainer", "--tenant", tenant.ToString(), "--object-id", objectId.ToString());
        using var client = new HttpClient { BaseAddress = tracker.Url };

        foreach (var (signer, status) in new[] { (tenantKey, HttpStatusCode.OK), (otherKey, HttpStatusCode.Unauthorized) })
        {
            var now = DateTime.UtcNow;
            var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer, Audience = "api://tracker-tests", IssuedAt = now, NotBefore = now, Expires = now.AddHours(1),
                Claims = new Dictionary<string, object> { ["tid"] = tenant.ToString(), ["oid"] = objectId.ToString() },
                SigningCredentials = new SigningCredentials(new RsaSecurityKey(signer) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
            });
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/2.0/mlflow/experiments/get?experiment_id=0", UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}\n{tracker.Output}");
        }
    }

    /// <summary>With every exporter on, as in Azure (Application Insights) or beside a collector (OTLP); both point at a
    /// closed port, the console one shows the spans.</summary>
    [Fact]
    public async Task TheHostsTimerAndQueueInvocationsRunAndAreTraced()
    {
        await using var tracker = await StartAsync(new Dictionary<string, string>
        {
            ["Tracker__Telemetry__Console"] = "true",
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
        });
        using var client = new HttpClient { BaseAddress = tracker.Url };

        // The cleanup timer's tick, and a lifecycle message about a run that does not exist (nothing to reconcile).
        foreach (var (function, payload) in new[] { ("Cleanup", TimerTriggerContractTests.HostPayload), ("Lifecycle", LifecyclePayload) })
            await InvokeAsync(client, tracker, function, payload);

        // The pipeline is built after the first response, in the background: invocations from then on are traced.
        for (var attempt = 0; !tracker.Output.Contains("POST /Lifecycle", StringComparison.Ordinal) && attempt < 50; attempt++)
        {
            await Task.Delay(200);
            await InvokeAsync(client, tracker, "Lifecycle", LifecyclePayload);
        }
        Assert.True(tracker.Output.Contains("Activity.DisplayName:        POST /Lifecycle", StringComparison.Ordinal), tracker.Output);
        Assert.DoesNotContain(" fail: ", tracker.Output, StringComparison.Ordinal);
    }

    /// <summary>POSTs a trigger invocation as the host does and checks the host's kind of reply.</summary>
    private static async Task InvokeAsync(HttpClient client, TrackerProcess tracker, string function, string payload)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/" + function, UriKind.Relative))
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", "4.1040.0");
        request.Headers.TryAddWithoutValidation("User-Agent", "Azure-Functions-Host/4.1040.0");
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{function}: {(int)response.StatusCode} {body}\n{tracker.Output}");
        Assert.Equal(["Outputs", "Logs", "ReturnValue"], JsonNode.Parse(body)!.AsObject().Select(p => p.Key));
    }

    private Task<TrackerProcess> StartAsync(Dictionary<string, string>? environment = null) => TrackerProcess.StartAsync(azurite, new Dictionary<string, string>(environment ?? [])
    {
        ["FUNCTIONS_CUSTOMHANDLER_PORT"] = AzuriteFixture.FreePort().ToString(CultureInfo.InvariantCulture),
        ["Tracker__Storage__TablePrefix"] = _tablePrefix,
    }, publish.Root);

    /// <summary>Runs <c>Tracker.Functions admin …</c> from the publish on the same storage; returns what it printed on stdout.</summary>
    private async Task<string> AdminAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await TrackerProcess.RunToEndAsync(azurite, _tablePrefix, ["admin", .. args], publish.Root);
        Assert.True(exit == 0, $"admin {string.Join(' ', args)} exited with {exit}: {stderr}");
        return stdout.Trim();
    }
}

/// <summary>One publish (minutes, native) shared by the tests of its layout and of the running handler, with an Azurite of
/// its own: these run beside the main Azurite collection rather than holding it up.</summary>
[CollectionDefinition(Name)]
public sealed class PublishedCollection : ICollectionFixture<PublishFixture>, ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Published";
}
