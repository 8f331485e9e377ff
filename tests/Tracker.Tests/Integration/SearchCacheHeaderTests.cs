using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Tracker.Core.Storage;
using Tracker.Functions.Http;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>The app as deployed: its search keeps snapshots in the configured container, and with the diagnostics switch on
/// a search says what the instance's search cache holds (the bench reads this header).</summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class SearchCacheHeaderTests(AzuriteFixture azurite)
{
    private const string Api = "/api/2.0/mlflow/";

    [GeneratedRegex("^runs=([0-9]+); bytes=([0-9]+)$")]
    private static partial Regex CacheHeader();

    [Fact]
    public async Task SearchResponsesReportTheCacheAndTheSnapshotIsWritten()
    {
        var container = "hdr" + Guid.NewGuid().ToString("N")[..12];
        using var app = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["Tracker:Storage:SearchSnapshotsContainer"] = container });
        var (_, created) = await app.PostAsync(Api + "experiments/create", new { name = "header" });
        var experimentId = (string)created!["experiment_id"]!;
        for (var i = 0; i < 3; i++)
            Assert.Equal(200, (await app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = i })).Status);

        using var client = app.CreateClient();
        using var response = await client.PostAsync(Api + "runs/search",
            new StringContent(JsonSerializer.Serialize(new { experiment_ids = new[] { experimentId } }), Encoding.UTF8, "application/json"));
        Assert.Equal(200, (int)response.StatusCode);
        var match = CacheHeader().Match(Assert.Single(response.Headers.GetValues(TrackerMiddleware.SearchCacheHeader)));
        Assert.True(match.Success);
        Assert.Equal(3, int.Parse(match.Groups[1].Value));
        Assert.InRange(long.Parse(match.Groups[2].Value), 3 * 200, 3 * 20_000);

        using var other = await client.GetAsync($"{Api}experiments/get?experiment_id={experimentId}");
        Assert.False(other.Headers.Contains(TrackerMiddleware.SearchCacheHeader));

        var store = (TrackingStore)app.Services.GetService(typeof(TrackingStore))!;
        await store.SnapshotWritesSettled();
        Assert.True(await new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(container).GetBlobClient(store.SnapshotBlob(experimentId)).ExistsAsync());
    }
}
