using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Artifacts;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The <c>expire_artifacts</c> worker against Azurite: blobs older than the cutoff go, newer ones stay, and so do the
/// files of a registered version that is not archived (an archived one's go); the run's logged models are covered; a
/// run with more blobs than one invocation may look at continues through follow-up messages; a forged message reaches
/// nothing outside the run's own artifact directories. "Old" and "new" are blobs written before and after the cutoff,
/// which is taken from the new blobs' own Last-Modified (storage's clock, second resolution).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactExpiryTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string _queuePrefix = "x" + Guid.NewGuid().ToString("N")[..10] + "-";
    private readonly string _containerName = "expiry-" + Guid.NewGuid().ToString("N")[..12];
    private TrackerApp _app = null!;
    private BlobContainerClient _container = null!;
    private QueueClient _queue = null!;
    private TrackingStore Tracking => _app.Services.GetRequiredService<TrackingStore>();
    private RegistryStore Registry => _app.Services.GetRequiredService<RegistryStore>();
    private LifecycleService Lifecycle => _app.Services.GetRequiredService<LifecycleService>();

    public async Task InitializeAsync()
    {
        _app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:QueuePrefix"] = _queuePrefix,
            ["Tracker:Storage:ArtifactsContainer"] = _containerName,
            ["Tracker:Lifecycle:MaxBlobsPerMessage"] = "2",
        });
        _container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(_containerName);
        await _container.CreateIfNotExistsAsync();
        _queue = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
            .GetQueueClient(_queuePrefix + LifecycleQueue.QueueName);
        await _queue.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync()
    {
        await _container.DeleteIfExistsAsync();
        await _app.DisposeAsync();
    }

    private async Task PutAsync(string blobName) => await _container.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(blobName), overwrite: true);

    /// <summary>Writes <paramref name="old"/> now and <paramref name="fresh"/> once storage's clock has moved on a full
    /// second; the cutoff is the earliest Last-Modified of the fresh ones.</summary>
    private async Task<long> WriteOldThenNewAsync(IEnumerable<string> old, IEnumerable<string> fresh)
    {
        foreach (var name in old) await PutAsync(name);
        var lastOld = await LatestModifiedAsync();
        // Ordering, not a timing assertion: Last-Modified has one-second resolution.
        while (DateTimeOffset.UtcNow < lastOld.AddSeconds(1.1)) await Task.Delay(100);
        var freshNames = fresh.ToList();
        foreach (var name in freshNames) await PutAsync(name);
        var modified = new List<DateTimeOffset>();
        foreach (var name in freshNames) modified.Add((await _container.GetBlobClient(name).GetPropertiesAsync()).Value.LastModified);
        var cutoff = modified.Min();
        Assert.True(cutoff > lastOld, "the fresh blobs must be newer than the old ones");
        return cutoff.ToUnixTimeMilliseconds();
    }

    private async Task<DateTimeOffset> LatestModifiedAsync()
    {
        var latest = DateTimeOffset.MinValue;
        await foreach (var blob in _container.GetBlobsAsync()) latest = blob.Properties.LastModified > latest ? blob.Properties.LastModified!.Value : latest;
        return latest;
    }

    private async Task<List<string>> BlobsAsync()
    {
        var names = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync()) names.Add(blob.Name);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Delivers <paramref name="message"/> through the lifecycle dispatcher, then every follow-up it enqueues,
    /// as the queue would; how many deliveries that took.</summary>
    private async Task<int> DeliverAllAsync(LifecycleMessage message)
    {
        await Lifecycle.HandleAsync(new QueueMessage(LifecycleQueue.QueueName, message.ToJson(), 1, "m0"), default);
        var deliveries = 1;
        while (true)
        {
            var batch = (await _queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
            if (batch.Length == 0) return deliveries;
            foreach (var m in batch)
            {
                await Lifecycle.HandleAsync(new QueueMessage(LifecycleQueue.QueueName, m.Body.ToString(), 1, m.MessageId), default);
                await _queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
                deliveries++;
            }
            Assert.True(deliveries < 100, "the follow-ups never end");
        }
    }

    private static LifecycleMessage Expire(Run run, long cutoffMs) =>
        new() { Kind = LifecycleMessage.ExpireArtifacts, RunId = run.Info.RunId, ExperimentId = run.Info.ExperimentId, CutoffMs = cutoffMs };

    private static string Root(Run run) => ArtifactLocation.ForRun(run.Info.RunId, "", allowRoot: true).Root;

    [Fact]
    public async Task OldBlobsGoNewOnesAndRegisteredLiveVersionsFilesStay()
    {
        var experiment = await Tracking.CreateExperimentAsync("expiry", []);
        var run = await Tracking.CreateRunAsync(experiment, "u", null, 1, []);
        var model = await Tracking.CreateLoggedModelAsync(experiment, "lm", null, run.Info.RunId, [], []);
        var modelRoot = ArtifactLocation.ForModel(model.ModelId, "", allowRoot: true).Root;
        var r = Root(run);
        string[] old =
        [
            $"{r}/old-1.txt", $"{r}/dir/old-2.txt", $"{r}/dir/deeper/old-3.txt",
            $"{r}/model/MLmodel", $"{r}/model/data/weights.bin",          // registered, Production: kept
            $"{r}/archived-model/MLmodel",                                // registered, Archived: goes
            $"{r}/model-other.txt",                                       // shares a name prefix with model/, not the directory
            $"{modelRoot}/old-model-file.bin",                            // the run's logged model: covered
        ];
        var cutoff = await WriteOldThenNewAsync(old, [$"{r}/new.txt", $"{r}/dir/new-2.txt"]);

        await Registry.CreateRegisteredModelAsync("expiry-model", [], null, null);
        await Registry.CreateModelVersionAsync(new NewModelVersion("expiry-model", $"runs:/{run.Info.RunId}/model", $"runs:/{run.Info.RunId}/model",
            run.Info.RunId, [], null, null, null, "u"));
        await Registry.TransitionModelVersionStageAsync("expiry-model", 1, ModelStages.Production, false);
        await Registry.CreateModelVersionAsync(new NewModelVersion("expiry-model", $"runs:/{run.Info.RunId}/archived-model", $"runs:/{run.Info.RunId}/archived-model",
            run.Info.RunId, [], null, null, null, "u"));
        await Registry.TransitionModelVersionStageAsync("expiry-model", 2, ModelStages.Archived, false);

        var deliveries = await DeliverAllAsync(Expire(run, cutoff));

        Assert.Equal(new[] { $"{r}/dir/new-2.txt", $"{r}/model/MLmodel", $"{r}/model/data/weights.bin", $"{r}/new.txt" }.Order(StringComparer.Ordinal), await BlobsAsync());
        // Ten blobs at two a look: the work went on through follow-up messages.
        Assert.True(deliveries > 1, $"expected follow-up messages, got {deliveries} delivery");
    }

    [Fact]
    public async Task RunningTheSameMessageAgainDeletesNothingMore()
    {
        var experiment = await Tracking.CreateExperimentAsync("expiry-again", []);
        var run = await Tracking.CreateRunAsync(experiment, "u", null, 1, []);
        var r = Root(run);
        var cutoff = await WriteOldThenNewAsync([$"{r}/a.txt", $"{r}/b.txt"], [$"{r}/c.txt"]);

        await DeliverAllAsync(Expire(run, cutoff));
        await DeliverAllAsync(Expire(run, cutoff));

        Assert.Equal([$"{r}/c.txt"], await BlobsAsync());
    }

    [Fact]
    public async Task AForgedMessageReachesNothingOutsideTheRunsOwnDirectories()
    {
        var experiment = await Tracking.CreateExperimentAsync("expiry-forged", []);
        var run = await Tracking.CreateRunAsync(experiment, "u", null, 1, []);
        var other = await Tracking.CreateRunAsync(experiment, "u", null, 1, []);
        var otherExperiment = await Tracking.CreateExperimentAsync("expiry-forged-other", []);
        var r = Root(run);
        string[] outside = [$"{Root(other)}/x.txt", $"{experiment}/x.txt", "uploads/x.bin", $"{r}x/y.txt"];
        await WriteOldThenNewAsync([.. outside], [$"{r}/new.txt"]);
        var all = await BlobsAsync();
        var far = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds();

        // A run id Tracker never issued, a traversal, an experiment that is not the run's, no cutoff, a run that does
        // not exist, and a continuation naming another run's directory: each reaches nothing outside the run.
        await DeliverAllAsync(Expire(run, far) with { RunId = "../" + run.Info.RunId });
        await DeliverAllAsync(Expire(run, far) with { ExperimentId = otherExperiment });
        await DeliverAllAsync(Expire(run, far) with { CutoffMs = null });
        await DeliverAllAsync(Expire(run, far) with { RunId = new string('0', 24) + uint.Parse(experiment).ToString("x8") });
        Assert.Equal(all, await BlobsAsync());

        await DeliverAllAsync(Expire(run, far) with { Continuation = $"{other.Info.RunId}:" });
        // Started over in its own directory instead: everything there was older than the cutoff.
        Assert.Equal(outside.Order(StringComparer.Ordinal), await BlobsAsync());
    }
}
