using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// Tracker with auth on, as deployed, over tables of its own. Nobody may do anything by default
/// (<c>DefaultPermission</c> NO_PERMISSIONS), so the grants a test makes decide. Each request comes from a client
/// address of its own (<c>X-Forwarded-For</c>, trusted here) unless a test names one, so the sign-in throttle only
/// counts the failures a test means it to.
/// </summary>
public sealed class AuthedApp : IAsyncDisposable
{
    public const string Api = "/api/2.0/mlflow/";

    private readonly WebApplicationFactory<Program> _factory;

    public AuthedApp(AzuriteFixture azurite, IReadOnlyDictionary<string, string>? settings = null, string? tablePrefix = null,
        Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string>
        {
            ["Tracker:Auth:Disabled"] = "false",
            ["Tracker:Auth:DefaultPermission"] = "NO_PERMISSIONS",
            ["Tracker:Http:TrustForwardedHost"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) all[key] = value;
        Tracker = new TrackerApp(azurite, tablePrefix, all);
        _factory = services is null ? Tracker : Tracker.WithWebHostBuilder(b => b.ConfigureTestServices(services));
    }

    public TrackerApp Tracker { get; }
    public IServiceProvider Services => _factory.Services;
    public AuthStore Store => Services.GetRequiredService<AuthStore>();

    /// <summary>A user with a token of their own: the value of an <c>Authorization</c> header.</summary>
    public async Task<string> UserAsync(string name, bool admin = false, string? password = null)
    {
        await Store.CreateUserAsync(name, password, admin);
        return Bearer((await Store.CreateTokenAsync(name, "test")).Token);
    }

    public static string Bearer(string token) => "Bearer " + token;

    public static string Basic(string user, string password) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, string? authorization, JsonNode? body = null,
        string? client = null, Action<HttpRequestMessage>? configure = null)
    {
        using var http = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(method, pathAndQuery);
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", client ?? $"198.51.100.{Random.Shared.Next(1, 255)}, 10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}");
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        else if (method != HttpMethod.Get && method != HttpMethod.Delete) request.Content = new ByteArrayContent("sample"u8.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } };
        configure?.Invoke(request);
        return await http.SendAsync(request);
    }

    /// <summary>A JSON call that must succeed; its answer.</summary>
    public async Task<JsonNode> CallAsync(string authorization, HttpMethod method, string route, JsonNode? body = null)
    {
        using var response = await SendAsync(method, route.StartsWith('/') ? route : Api + route, authorization, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {route}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text.Length == 0 ? "{}" : text)!;
    }

    public Task<JsonNode> PostAsync(string authorization, string route, JsonNode body) => CallAsync(authorization, HttpMethod.Post, route, body);

    public Task<JsonNode> GetAsync(string authorization, string routeAndQuery) => CallAsync(authorization, HttpMethod.Get, routeAndQuery);

    public async Task<string> CreateExperimentAsync(string authorization, string name) =>
        (string)(await PostAsync(authorization, "experiments/create", new JsonObject { ["name"] = name }))["experiment_id"]!;

    public async Task<string> CreateRunAsync(string authorization, string experimentId) =>
        (string)(await PostAsync(authorization, "runs/create", new JsonObject { ["experiment_id"] = experimentId }))["run"]!["info"]!["run_id"]!;

    /// <summary>Status, the WWW-Authenticate challenge and the body text, for assertion messages.</summary>
    public async Task<(int Status, string Body, bool Challenged)> StatusAsync(HttpMethod method, string pathAndQuery, string? authorization,
        JsonNode? body = null, string? client = null, Action<HttpRequestMessage>? configure = null)
    {
        using var response = await SendAsync(method, pathAndQuery, authorization, body, client, configure);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.WwwAuthenticate.Count > 0);
    }

    // Disposing a factory disposes the ones derived from it (WithWebHostBuilder).
    public ValueTask DisposeAsync() => Tracker.DisposeAsync();
}
