using System.Globalization;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>Auth can be turned off only for a Tracker nobody else can reach (README, "Local set-up").</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuthOffTests(AzuriteFixture azurite)
{
    private static string FreePort() => AzuriteFixture.FreePort().ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task AuthOffIsRefusedOnANonLoopbackAddress()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TrackerProcess.StartAsync(azurite, new Dictionary<string, string>
        {
            ["Tracker__Auth__Disabled"] = "true",
            ["Kestrel__Endpoints__Everywhere__Url"] = $"http://0.0.0.0:{FreePort()}",
        }));
        Assert.Contains("Disabled is allowed only on loopback addresses", refused.Message);
    }

    [Fact]
    public async Task AuthOffIsRefusedUnderTheFunctionsHost()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TrackerProcess.StartAsync(azurite, new Dictionary<string, string>
        {
            ["Tracker__Auth__Disabled"] = "true",
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = FreePort(),
        }));
        Assert.Contains("Disabled is refused under the Functions host", refused.Message);
    }

    [Fact]
    public async Task AuthOffOnLoopbackServesWithoutCredentials()
    {
        await using var tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string> { ["Tracker__Auth__Disabled"] = "true" });
        using var http = new HttpClient { BaseAddress = tracker.Url };
        using var response = await http.GetAsync("/api/2.0/mlflow/experiments/get?experiment_id=0");
        Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task AuthIsOnUnlessTurnedOff()
    {
        Assert.False(new Tracker.Core.Auth.AuthOptions().Disabled);
        // (The test processes turn it off by default; this one sets it back.)
        await using var tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string> { ["Tracker__Auth__Disabled"] = "false" });
        using var http = new HttpClient { BaseAddress = tracker.Url };
        using var response = await http.GetAsync("/api/2.0/mlflow/experiments/get?experiment_id=0");
        Assert.Equal(401, (int)response.StatusCode);
        Assert.Contains("Basic realm=\"mlflow\"", response.Headers.WwwAuthenticate.Select(h => h.ToString()));
        using var health = await http.GetAsync("/health");
        Assert.Equal(200, (int)health.StatusCode);
    }
}
