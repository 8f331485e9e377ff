using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Issue 10 §3 end to end on two Tracker instances over one Azurite (same tables, container and queues): instance B
/// has the run in its search snapshot, instance A deletes it, A's local poller consumes the lifecycle message and purges
/// (retention 0), and then B answers as if the run never existed — every search view, runs/get, the metric history and
/// the artifact list. Search snapshots refresh from rows whose Table Timestamp moved; without the purge's tombstone, B
/// would keep serving the run from its snapshot. Also tiering end to end: a version archived through the API has its
/// files set Cool (and tagged) by A's poller, and Hot again when promoted.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PurgeEndToEndTests : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private readonly string _container = "c" + Guid.NewGuid().ToString("N")[..12];
    private readonly BlobContainerClient _blobs;
    private readonly TrackerApp _a;
    private readonly TrackerApp _b;

    public PurgeEndToEndTests(AzuriteFixture azurite)
    {
        var shared = new Dictionary<string, string>
        {
            ["Tracker:Storage:ArtifactsContainer"] = _container,
            ["Tracker:Storage:QueuePrefix"] = "q" + Guid.NewGuid().ToString("N")[..10] + "-",
            ["Tracker:Lifecycle:DeletedRetentionDays"] = "0",
            ["Tracker:Lifecycle:ArchivedCoolAfterDays"] = "0",
        };
        _a = new TrackerApp(azurite, settings: new Dictionary<string, string>(shared)
        {
            ["Tracker:Triggers:LocalPolling"] = "true",
            ["Tracker:Triggers:VisibilityTimeout"] = "00:00:00",
            ["Tracker:Triggers:MaxPollingInterval"] = "00:00:00.200",
        });
        _b = new TrackerApp(azurite, _a.TablePrefix, shared);
        _blobs = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(_container);
        _blobs.CreateIfNotExists();
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    private static async Task<JsonNode> OkAsync(Task<(int Status, JsonNode? Body)> call)
    {
        var (status, body) = await call;
        Assert.True(status == 200, $"{status} {body}");
        return body ?? new JsonObject();
    }

    private async Task<List<string>> BlobsAsync(string prefix)
    {
        var names = new List<string>();
        await foreach (var blob in _blobs.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, default)) names.Add(blob.Name);
        return names;
    }

    private static async Task<List<string>> SearchAsync(TrackerApp app, string experimentId, string view)
    {
        var body = await OkAsync(app.PostAsync(Api + "runs/search", new { experiment_ids = new[] { experimentId }, run_view_type = view }));
        return body["runs"]?.AsArray().Select(r => (string)r!["info"]!["run_id"]!).ToList() ?? [];
    }

    /// <summary>Waits (generously: the poller polls every 200 ms at most) until <paramref name="path"/> answers 404 on A.</summary>
    private async Task WaitForNotFoundAsync(string path)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if ((await _a.GetAsync(path)).Status == 404) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"{path} still answers");
    }

    private async Task<(string ExperimentId, string RunId)> RunWithArtifactAndHistoryAsync(string? experimentId = null)
    {
        experimentId ??= (string)(await OkAsync(_a.PostAsync(Api + "experiments/create", new { name = "purge-e2e-" + Guid.NewGuid().ToString("N") })))["experiment_id"]!;
        var runId = (string)(await OkAsync(_a.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1 })))["run"]!["info"]!["run_id"]!;
        for (var step = 0; step < 3; step++)
            await OkAsync(_a.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = "loss", value = 1.0 / (step + 1), timestamp = 1, step }));
        await _blobs.GetBlobClient($"{experimentId}/{runId}/artifacts/model/model.pkl").UploadAsync(BinaryData.FromString("weights"));
        return (experimentId, runId);
    }

    [Fact]
    public async Task APurgedRunIsGoneFromEveryQueryOnTheOtherInstance()
    {
        var (experimentId, runId) = await RunWithArtifactAndHistoryAsync();
        // B holds the run: in its search snapshot (every view), and answering each read.
        Assert.Contains(runId, await SearchAsync(_b, experimentId, "ALL"));
        Assert.Contains(runId, await SearchAsync(_b, experimentId, "ACTIVE_ONLY"));
        await OkAsync(_b.GetAsync($"{Api}runs/get?run_id={runId}"));
        Assert.Equal(3, (await OkAsync(_b.GetAsync($"{Api}metrics/get-history?run_id={runId}&metric_key=loss")))["metrics"]!.AsArray().Count);
        Assert.Single((await OkAsync(_b.GetAsync($"{Api}artifacts/list?run_id={runId}&path=model")))["files"]!.AsArray());

        await OkAsync(_a.PostAsync(Api + "runs/delete", new { run_id = runId }));
        Assert.Contains(runId, await SearchAsync(_b, experimentId, "DELETED_ONLY"));
        await WaitForNotFoundAsync($"{Api}runs/get?run_id={runId}");

        Assert.Empty(await BlobsAsync($"{experimentId}/{runId}/"));
        foreach (var view in new[] { "ACTIVE_ONLY", "DELETED_ONLY", "ALL" })
            Assert.DoesNotContain(runId, await SearchAsync(_b, experimentId, view));
        var (status, error) = await _b.GetAsync($"{Api}runs/get?run_id={runId}");
        Assert.Equal(404, status);
        Assert.Equal("RESOURCE_DOES_NOT_EXIST", (string?)error!["error_code"]);
        Assert.Null((await OkAsync(_b.GetAsync($"{Api}metrics/get-history?run_id={runId}&metric_key=loss")))["metrics"]);
        Assert.Equal(404, (await _b.GetAsync($"{Api}artifacts/list?run_id={runId}&path=model")).Status);
        // Writes through B's cached copy of the run meet the tombstone, not a run.
        Assert.Equal(404, (await _b.PostAsync(Api + "runs/set-tag", new { run_id = runId, key = "k", value = "v" })).Status);
    }

    /// <summary>Waits until the version's storage-tier tag is <paramref name="expected"/> (null: absent).</summary>
    private async Task WaitForTierTagAsync(string model, string version, string? expected)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var tags = (await OkAsync(_b.GetAsync($"{Api}model-versions/get?name={model}&version={version}")))["model_version"]!["tags"]?.AsArray();
            var tier = tags?.FirstOrDefault(t => (string?)t!["key"] == "tracker.storage_tier")?["value"];
            if ((string?)tier == expected) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"{model} v{version}: storage tier tag never became {expected ?? "absent"}");
    }

    [Fact]
    public async Task AnArchivedVersionsFilesGoCoolThroughTheQueueAndHotAgainWhenPromoted()
    {
        var (_, runId) = await RunWithArtifactAndHistoryAsync();
        var model = "tier-e2e-" + Guid.NewGuid().ToString("N")[..8];
        await OkAsync(_b.PostAsync(Api + "registered-models/create", new { name = model }));
        await OkAsync(_b.PostAsync(Api + "model-versions/create", new { name = model, source = $"runs:/{runId}/model", run_id = runId }));
        var blob = _blobs.GetBlobClient(Assert.Single(await BlobsAsync($"")));

        // Archived on instance B; A's poller consumes the message.
        await OkAsync(_b.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "1", stage = "Archived", archive_existing_versions = false }));
        await WaitForTierTagAsync(model, "1", "Cool");
        Assert.Equal(AccessTier.Cool, (await blob.GetPropertiesAsync()).Value.AccessTier);
        Assert.Equal("true", (await blob.GetTagsAsync()).Value.Tags["tracker-archived"]);

        await OkAsync(_b.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "1", stage = "Production", archive_existing_versions = false }));
        await WaitForTierTagAsync(model, "1", null);
        Assert.Equal(AccessTier.Hot, (await blob.GetPropertiesAsync()).Value.AccessTier);
        Assert.Empty((await blob.GetTagsAsync()).Value.Tags);
    }

    [Fact]
    public async Task APurgedExperimentIsGoneOnTheOtherInstanceAndItsNameCanBeUsedAgain()
    {
        var (experimentId, first) = await RunWithArtifactAndHistoryAsync();
        var (_, second) = await RunWithArtifactAndHistoryAsync(experimentId);
        var name = (string)(await OkAsync(_b.GetAsync($"{Api}experiments/get?experiment_id={experimentId}")))["experiment"]!["name"]!;
        Assert.Equal(2, (await SearchAsync(_b, experimentId, "ALL")).Count);

        await OkAsync(_a.PostAsync(Api + "experiments/delete", new { experiment_id = experimentId }));
        Assert.Equal(2, (await SearchAsync(_b, experimentId, "DELETED_ONLY")).Count);
        await WaitForNotFoundAsync($"{Api}experiments/get?experiment_id={experimentId}");

        Assert.Empty(await BlobsAsync($"{experimentId}/"));
        Assert.Equal(404, (await _b.GetAsync($"{Api}experiments/get?experiment_id={experimentId}")).Status);
        foreach (var view in new[] { "ACTIVE_ONLY", "DELETED_ONLY", "ALL" })
            Assert.Empty(await SearchAsync(_b, experimentId, view));
        foreach (var run in new[] { first, second })
            Assert.Equal(404, (await _b.GetAsync($"{Api}runs/get?run_id={run}")).Status);
        var experiments = await OkAsync(_b.PostAsync(Api + "experiments/search", new { view_type = "ALL", max_results = 1000 }));
        Assert.DoesNotContain(experiments["experiments"]!.AsArray(), e => (string?)e!["experiment_id"] == experimentId);
        var reused = (string)(await OkAsync(_b.PostAsync(Api + "experiments/create", new { name })))["experiment_id"]!;
        Assert.NotEqual(experimentId, reused);
    }
}
