using System.Globalization;
using System.Text;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The DNS-rebinding guard (security baseline §1.4): a page rebound to a local Tracker is same-origin, so its fetch()
/// may add any header. <c>X-Forwarded-Host</c> counts only under the Functions host, which sets it itself; then the
/// <c>Host</c> and the forwarded host must both be allowed.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class HostCheckTests(AzuriteFixture azurite)
{
    private const string Api = "/api/2.0/mlflow/";
    private const string PublicHost = "func-tracker-abc123.azurewebsites.net";

    [Fact]
    public async Task ARebindingPageCannotPassAsLoopbackThroughXForwardedHost()
    {
        await using var app = new TrackerApp(azurite);
        using var client = app.CreateClient();
        var name = "rebound-" + Guid.NewGuid().ToString("N");

        using var response = await client.SendAsync(CreateExperiment(name, host: "attacker.example:5000", forwardedHost: "localhost"));

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("BAD_REQUEST", (string)(await TrackerApp.ReadAsync(response))!["error_code"]!);
        Assert.Equal(404, (await app.GetAsync($"{Api}experiments/get-by-name?experiment_name={name}")).Status);
    }

    [Fact]
    public async Task LocallyXForwardedHostIsIgnored()
    {
        // No proxy of ours sets it locally, so a foreign value neither admits nor rejects anything: Host decides.
        await using var app = new TrackerApp(azurite);
        using var client = app.CreateClient();

        using var loopback = await client.SendAsync(CreateExperiment("ignored-" + Guid.NewGuid().ToString("N"), host: "127.0.0.1:5000", forwardedHost: "attacker.example"));
        using var foreign = await client.SendAsync(CreateExperiment("ignored-" + Guid.NewGuid().ToString("N"), host: PublicHost, forwardedHost: PublicHost));

        Assert.Equal(200, (int)loopback.StatusCode);
        Assert.Equal(400, (int)foreign.StatusCode);
    }

    [Fact]
    public async Task UnderTheFunctionsHostBothHostAndForwardedHostMustBeAllowed()
    {
        var port = AzuriteFixture.FreePort().ToString(CultureInfo.InvariantCulture);
        // Under the host auth is always on: the caller is an admin with a token.
        using var auth = new AuthInstance(azurite, AuthInstance.NewPrefix(), TimeProvider.System);
        await auth.Store.CreateUserAsync("host-check", password: null, isAdmin: true);
        var token = (await auth.Store.CreateTokenAsync("host-check", "test")).Token;
        await using var tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string>
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port,
            ["Tracker__Http__AllowedHosts__0"] = PublicHost,
            ["Tracker__Storage__TablePrefix"] = auth.Prefix,
        });
        using var client = new HttpClient { BaseAddress = tracker.Url };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var loopback = $"127.0.0.1:{port}";

        async Task<int> CreateAsync(string name, string host, string? forwardedHost)
        {
            using var response = await client.SendAsync(CreateExperiment(name, host, forwardedHost));
            return (int)response.StatusCode;
        }

        async Task<int> FindAsync(string name)
        {
            using var response = await client.GetAsync(new Uri($"{Api}experiments/get-by-name?experiment_name={name}", UriKind.Relative));
            return (int)response.StatusCode;
        }

        var id = Guid.NewGuid().ToString("N");
        // Proxying (YARP): Host is the handler's loopback address, the caller's host is in X-Forwarded-Host.
        Assert.Equal(400, await CreateAsync("proxied-foreign-" + id, loopback, "attacker.example"));
        Assert.Equal(400, await CreateAsync("proxied-foreign-list-" + id, loopback, $"attacker.example, {PublicHost}"));
        Assert.Equal(200, await CreateAsync("proxied-public-" + id, loopback, PublicHost));
        // Forwarding: the public Host is passed on; a forwarded host the caller made up must be allowed too.
        Assert.Equal(200, await CreateAsync("forwarded-public-" + id, PublicHost, null));
        Assert.Equal(400, await CreateAsync("forwarded-foreign-" + id, PublicHost, "attacker.example"));
        // The rebinding request itself.
        Assert.Equal(400, await CreateAsync("rebound-" + id, "attacker.example:5000", "localhost"));

        foreach (var rejected in (string[])["proxied-foreign-", "proxied-foreign-list-", "forwarded-foreign-", "rebound-"])
            Assert.Equal(404, await FindAsync(rejected + id));
        Assert.Equal(200, await FindAsync("proxied-public-" + id));
    }

    private static HttpRequestMessage CreateExperiment(string name, string host, string? forwardedHost)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Api + "experiments/create", UriKind.Relative))
        {
            Content = new StringContent($$"""{"name":"{{name}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Host = host;
        if (forwardedHost is not null) request.Headers.TryAddWithoutValidation("X-Forwarded-Host", forwardedHost);
        return request;
    }
}
