using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Tracker.Tests.Infrastructure;

/// <summary>
/// Tracker in-process against the shared Azurite, with tables of its own (a unique prefix per instance), so test
/// classes never see each other's data.
/// </summary>
public sealed class TrackerApp : WebApplicationFactory<Program>
{
    private readonly AzuriteFixture _azurite;

    /// <param name="tablePrefix">Another instance's prefix, to run a second Tracker instance over the same tables.</param>
    /// <param name="settings">Further configuration, e.g. a lower compaction threshold.</param>
    public TrackerApp(AzuriteFixture azurite, string? tablePrefix = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        _azurite = azurite;
        _settings = settings ?? new Dictionary<string, string>();
        TablePrefix = tablePrefix ?? "t" + Guid.NewGuid().ToString("N")[..12];
    }

    private readonly IReadOnlyDictionary<string, string> _settings;

    public string TablePrefix { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Tracker:Storage:ConnectionString", _azurite.ConnectionString);
        builder.UseSetting("Tracker:Storage:TablePrefix", TablePrefix);
        builder.UseSetting("Tracker:Diagnostics:StorageRequestHeader", "true");
        // Tests of everything but auth run as a local Tracker does: auth off (allowed: the test server listens nowhere).
        builder.UseSetting("Tracker:Auth:Disabled", "true");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
    }

    public async Task<(int Status, JsonNode? Body)> PostAsync(string path, object body)
    {
        using var client = CreateClient();
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> GetAsync(string pathAndQuery)
    {
        using var client = CreateClient();
        using var response = await client.GetAsync(pathAndQuery);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType is "application/json" || text.Length == 0,
            $"Expected JSON, got {response.Content.Headers.ContentType}: {text[..Math.Min(text.Length, 200)]}");
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    public static MediaTypeHeaderValue Json => new("application/json");
}
