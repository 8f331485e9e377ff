using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;
using Tracker.Functions.Endpoints;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Host;

/// <summary>
/// The handler plays its part of the custom-handler contract (reference §1, §2, §8): the readiness probe answers at
/// once without storage, the service routes answer, unknown routes and methods answer in MLflow's JSON error shape, the
/// Host check rejects foreign names, and the headers the host adds in forwarding mode change nothing.
/// </summary>
public class CustomHandlerContractTests(TrackerAppFactory factory) : IClassFixture<TrackerAppFactory>
{
    /// <summary>Flex gives the handler 30 s from process start to answering GET / (reference §8).</summary>
    private static readonly TimeSpan ReadinessBudget = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheReadinessProbeAnswersWithinTheHostBudget()
    {
        // A fresh app, so the measured time includes start-up (the shared factory may already be running).
        await using var app = new TrackerAppFactory();
        var clock = Stopwatch.StartNew();
        using var client = app.CreateClient();
        using var response = await client.GetAsync(new Uri("/", UriKind.Relative));
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < ReadinessBudget, $"Start-up plus GET / took {clock.Elapsed}.");
    }

    [Fact]
    public async Task StartUpAndServiceRoutesMakeNoStorageConnections()
    {
        // Storage pointed at a listener that only counts connections: the probe and version must not touch it (health
        // does: StorageOutageTests).
        using var sentinel = new StalledListener();
        var connectionString = string.Join(';',
            $"TableEndpoint=http://127.0.0.1:{sentinel.Port}/devstoreaccount1",
            $"BlobEndpoint=http://127.0.0.1:{sentinel.Port}/devstoreaccount1",
            $"QueueEndpoint=http://127.0.0.1:{sentinel.Port}/devstoreaccount1",
            "SharedAccessSignature=sv=2024-08-04&ss=bqt&srt=sco&sp=r&se=2000-01-01T00:00:00Z&sig=none");
        await using var app = new TrackerAppFactory().WithWebHostBuilder(builder =>
            builder.UseSetting("Tracker:Storage:ConnectionString", connectionString));
        using var client = app.CreateClient();

        foreach (var path in (string[])["/", "/version"])
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The sentinel really is the storage the app would use (otherwise zero connections would prove nothing).
        Assert.Equal(connectionString, app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString);
        Assert.Equal(0, sentinel.Connections);
    }

    [Fact]
    public async Task TheReadinessProbeAnswersWithTheWebUi()
    {
        using var response = await Get("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<div id=\"app\"></div>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VersionReportsAnMlflowVersionBelow3Point4()
    {
        // MLflow >= 3.4 clients export OTLP spans to /v1/traces, which Tracker does not serve.
        using var response = await Get("/version");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var version = Version.Parse((await response.Content.ReadAsStringAsync()).Trim());
        Assert.True(version >= new Version(3, 0) && version < new Version(3, 4), $"/version reports {version}.");
    }

    [Theory]
    [InlineData("/api/2.0/mlflow/no/such/endpoint")]
    [InlineData("/ajax-api/2.0/mlflow/no/such/endpoint")]
    [InlineData("/api/2.0/mlflow/runs/create/extra")]
    public async Task AnUnknownPathUnderAPrefixIsAJsonEndpointNotFound(string path)
    {
        using var response = await Get(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await MlflowError(response);
        Assert.Equal("ENDPOINT_NOT_FOUND", error.Code);
    }

    [Fact]
    public async Task AWrongMethodOnAKnownRouteIsAJson405()
    {
        using var response = await Get("/api/2.0/mlflow/runs/create");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        await MlflowError(response);
    }

    [Theory]
    [InlineData("attacker.example")]
    [InlineData("attacker.example:443")]
    [InlineData("localhost.attacker.example")]
    [InlineData("10.1.2.3")]
    public async Task AForeignHostIsRejectedAsJson(string host)
    {
        using var response = await Get("/version", request => request.Headers.Host = host);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await MlflowError(response);
        Assert.Equal("BAD_REQUEST", error.Code);
    }

    [Fact]
    public async Task AForeignForwardedHostIsRejectedWhereTheHeaderIsTrusted()
    {
        // Under the host's proxying mode (YARP) the caller's host name arrives as X-Forwarded-Host.
        await using var app = new TrackerAppFactory().WithWebHostBuilder(builder =>
            builder.UseSetting("Tracker:Http:TrustForwardedHost", "true"));
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/version", UriKind.Relative));
        request.Headers.Add("X-Forwarded-Host", "attacker.example");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await MlflowError(response);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1:1234")]
    [InlineData("[::1]:5000")]
    public async Task ALoopbackHostPassesTheHostCheck(string host)
    {
        using var response = await Get("/version", request => request.Headers.Host = host);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServiceEndpoints.MlflowCompatibleVersion, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheForwardingModeHeadersChangeNothing()
    {
        using var response = await Get("/version", AddForwardingHeaders);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServiceEndpoints.MlflowCompatibleVersion, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AForwardedRequestCarryingTheAppsPublicHostNamePasses()
    {
        // Forwarding mode copies the public Host header; in Azure the app's own name is in Tracker:Http:AllowedHosts.
        const string publicHost = "func-tracker-abc123.azurewebsites.net";
        await using var app = new TrackerAppFactory().WithWebHostBuilder(builder =>
            builder.UseSetting("Tracker:Http:AllowedHosts:0", publicHost));
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/version", UriKind.Relative));
        request.Headers.Host = publicHost;
        AddForwardingHeaders(request);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServiceEndpoints.MlflowCompatibleVersion, await response.Content.ReadAsStringAsync());
    }

    private static void AddForwardingHeaders(HttpRequestMessage request)
    {
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", "4.1040.0");
        request.Headers.TryAddWithoutValidation("User-Agent", "Azure-Functions-Host/4.1040.0");
        request.Headers.Add("x-functions-key", "not-a-real-key");
    }

    private async Task<HttpResponseMessage> Get(string path, Action<HttpRequestMessage>? configure = null)
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    /// <summary>Asserts MLflow's error shape: JSON (never an HTML page), <c>{"error_code", "message"}</c>.</summary>
    private static async Task<(string Code, string Message)> MlflowError(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var code = json.RootElement.GetProperty("error_code").GetString();
        var message = json.RootElement.GetProperty("message").GetString();
        Assert.False(string.IsNullOrEmpty(code), body);
        Assert.False(string.IsNullOrEmpty(message), body);
        return (code, message);
    }
}
