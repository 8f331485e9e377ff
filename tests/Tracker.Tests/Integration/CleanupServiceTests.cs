using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The cleanup timer's handler against Azurite, with retention and tiering at 0 days so everything deleted or archived
/// is due at once: it finds each kind of due work and enqueues it on the real lifecycle queue (read back here), skips an
/// unusable retention tag with its reason, is safe to run twice at once, and records a summary row per run.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class CleanupServiceTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string _queuePrefix = "c" + Guid.NewGuid().ToString("N")[..10] + "-";
    private TrackerApp _app = null!;
    private QueueClient _queue = null!;
    private TrackingStore Tracking => _app.Services.GetRequiredService<TrackingStore>();
    private RegistryStore Registry => _app.Services.GetRequiredService<RegistryStore>();
    private CleanupService Cleanup => _app.Services.GetRequiredService<CleanupService>();
    private CleanupStore Summaries => _app.Services.GetRequiredService<CleanupStore>();

    public Task InitializeAsync()
    {
        _app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:QueuePrefix"] = _queuePrefix,
            ["Tracker:Lifecycle:DeletedRetentionDays"] = "0",
            ["Tracker:Lifecycle:ArchivedCoolAfterDays"] = "0",
        });
        _queue = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
            .GetQueueClient(_queuePrefix + LifecycleQueue.QueueName);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private sealed record Expected(List<string> Messages, string BadRetentionExperiment);

    /// <summary>One of each kind of due work, and things that are not due, in a fresh set of tables.</summary>
    private async Task<Expected> SeedAsync()
    {
        var expected = new List<string>();
        // An active experiment with one deleted run (due) and one live run (not).
        var active = await Tracking.CreateExperimentAsync("active", []);
        var deletedRun = await Tracking.CreateRunAsync(active, "u", null, 1, []);
        await Tracking.CreateRunAsync(active, "u", null, 1, []);
        await Tracking.DeleteRunAsync(deletedRun.Info.RunId);
        expected.Add($"run_deleted {deletedRun.Info.RunId} {active}");

        // A deleted experiment: purged as a whole, no message per run.
        var gone = await Tracking.CreateExperimentAsync("gone", []);
        await Tracking.CreateRunAsync(gone, "u", null, 1, []);
        await Tracking.DeleteExperimentAsync(gone);
        expected.Add($"experiment_deleted {gone}");

        // An experiment with its own artifact retention: one expiry per run, its deleted run included.
        var kept = await Tracking.CreateExperimentAsync("kept", [new KeyValue(CleanupService.RetentionDaysTag, "7")]);
        var k1 = await Tracking.CreateRunAsync(kept, "u", null, 1, []);
        var k2 = await Tracking.CreateRunAsync(kept, "u", null, 1, []);
        expected.Add($"expire_artifacts {k1.Info.RunId} {kept} 7");
        expected.Add($"expire_artifacts {k2.Info.RunId} {kept} 7");

        // An unusable retention tag: skipped, with its reason.
        var bad = await Tracking.CreateExperimentAsync("bad-retention", [new KeyValue(CleanupService.RetentionDaysTag, "soon")]);
        await Tracking.CreateRunAsync(bad, "u", null, 1, []);

        // Versions: archived and not yet Cool (due), promoted again but still Cool (back to Hot), archived and already
        // Cool (done), live and Hot (nothing).
        var model = "cleanup-model";
        await Registry.CreateRegisteredModelAsync(model, [], null, null);
        var source = await Tracking.CreateRunAsync(active, "u", null, 1, []);
        for (var i = 0; i < 4; i++)
            await Registry.CreateModelVersionAsync(new NewModelVersion(model, $"runs:/{source.Info.RunId}/model", $"runs:/{source.Info.RunId}/model",
                source.Info.RunId, [], null, null, null, "u"));
        await Registry.TransitionModelVersionStageAsync(model, 1, ModelStages.Archived, false);
        await Registry.TransitionModelVersionStageAsync(model, 2, ModelStages.Production, false);
        await Registry.SetModelVersionTagAsync(model, 2, LifecycleMessage.StorageTierTag, "Cool");
        await Registry.TransitionModelVersionStageAsync(model, 3, ModelStages.Archived, false);
        await Registry.SetModelVersionTagAsync(model, 3, LifecycleMessage.StorageTierTag, "Cool");
        expected.Add($"version_stage_changed {model} 1");
        expected.Add($"version_stage_changed {model} 2");

        expected.Sort(StringComparer.Ordinal);
        return new Expected(expected, bad);
    }

    private static TimerTick Tick(DateTimeOffset now, bool pastDue = false) => new(now, pastDue);

    /// <summary>Every message on the lifecycle queue, as "kind ids…", the expiry's cutoff as days before <paramref name="now"/>.</summary>
    private async Task<List<string>> DrainAsync(DateTimeOffset now)
    {
        var found = new List<string>();
        while (true)
        {
            var batch = (await _queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
            if (batch.Length == 0) break;
            foreach (var m in batch)
            {
                var message = LifecycleMessage.Parse(m.Body.ToString()) ?? throw new InvalidOperationException($"not a lifecycle message: {m.Body}");
                found.Add(message.Kind switch
                {
                    LifecycleMessage.RunDeleted => $"run_deleted {message.RunId} {message.ExperimentId}",
                    LifecycleMessage.ExperimentDeleted => $"experiment_deleted {message.ExperimentId}",
                    LifecycleMessage.VersionStageChanged => $"version_stage_changed {message.Name} {message.Version}",
                    _ => $"expire_artifacts {message.RunId} {message.ExperimentId} {TimeSpan.FromMilliseconds(now.ToUnixTimeMilliseconds() - message.CutoffMs!.Value).TotalDays}",
                });
            }
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    [Fact]
    public async Task ItEnqueuesEachKindOfDueWorkAndRecordsWhatItDid()
    {
        var expected = await SeedAsync();
        var now = DateTimeOffset.UtcNow;

        await Cleanup.RunAsync(Tick(now, pastDue: true), default);

        Assert.Equal(expected.Messages, await DrainAsync(now));
        var row = Assert.Single((await Summaries.ListAsync(10, null)).Items);
        Assert.True(row.IsPastDue);
        Assert.NotNull(row.FinishedMs);
        Assert.Null(row.Error);
        Assert.Equal(new Dictionary<string, int>
        {
            [LifecycleMessage.RunDeleted] = 1, [LifecycleMessage.ExperimentDeleted] = 1,
            [LifecycleMessage.VersionStageChanged] = 2, [LifecycleMessage.ExpireArtifacts] = 2,
        }, row.Enqueued);
        var skipped = Assert.Single(row.Skipped);
        Assert.Equal($"experiment {expected.BadRetentionExperiment}", skipped.Item);
        Assert.Contains("'soon'", skipped.Reason);
        Assert.Equal(1, row.SkippedCount);
    }

    [Fact]
    public async Task NothingIsDueBeforeRetentionHasPassed()
    {
        // A clock an hour behind the deletes: with 0 days of retention nothing deleted "later" than now is due yet.
        await SeedAsync();
        var before = DateTimeOffset.UtcNow.AddHours(-1);

        await Cleanup.RunAsync(Tick(before), default);

        var found = await DrainAsync(before);
        Assert.DoesNotContain(found, m => m.StartsWith("run_deleted", StringComparison.Ordinal) || m.StartsWith("experiment_deleted", StringComparison.Ordinal));
        Assert.Contains(found, m => m.StartsWith("expire_artifacts", StringComparison.Ordinal)); // retention by tag is not a delete
    }

    [Fact]
    public async Task TwoRunsAtOnceBothCompleteAndOnlyRepeatTheSameWork()
    {
        var expected = await SeedAsync();
        var now = DateTimeOffset.UtcNow;

        await Task.WhenAll(Cleanup.RunAsync(Tick(now), default), Cleanup.RunAsync(Tick(now), default));

        // Each run enqueued the same work once; the workers are idempotent, so the duplicates change nothing twice.
        Assert.Equal(expected.Messages.Concat(expected.Messages).Order(StringComparer.Ordinal), await DrainAsync(now));
        var rows = (await Summaries.ListAsync(10, null)).Items;
        Assert.Equal(2, rows.Count);
        Assert.NotEqual(rows[0].Id, rows[1].Id);
        Assert.All(rows, r => Assert.Equal(6, r.Enqueued.Values.Sum()));
        Assert.All(rows, r => Assert.Null(r.Error));
    }

    [Fact]
    public async Task AFailedRunIsRecordedAndThenThrown()
    {
        await SeedAsync();
        // A queue storage refuses (its name is invalid): the first enqueue fails.
        var sp = _app.Services;
        var broken = new LifecycleQueue(sp.GetRequiredService<QueueServiceClient>(),
            Microsoft.Extensions.Options.Options.Create(new StorageOptions { QueuePrefix = "Not_A_Queue_" }),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<LifecycleQueue>.Instance);
        var cleanup = new CleanupService(Tracking, Registry, broken, Summaries,
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<LifecycleOptions>>(), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<CleanupService>.Instance);

        await Assert.ThrowsAnyAsync<Exception>(() => cleanup.RunAsync(Tick(DateTimeOffset.UtcNow), default));

        var row = Assert.Single((await Summaries.ListAsync(10, null)).Items);
        Assert.NotNull(row.Error);
        Assert.NotNull(row.FinishedMs);
        Assert.Empty(row.Enqueued);
    }

    [Fact]
    public async Task SummaryRowsAreListedNewestFirstInPages()
    {
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < 3; i++) await Cleanup.RunAsync(Tick(start.AddSeconds(i)), default);

        var first = await Summaries.ListAsync(2, null);
        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.NextPageToken);
        var second = await Summaries.ListAsync(2, first.NextPageToken);
        var all = first.Items.Concat(second.Items).ToList();
        Assert.Equal(3, all.Count);
        Assert.Null(second.NextPageToken);
        Assert.Equal(all.OrderByDescending(r => r.StartedMs).ThenBy(r => r.Id, StringComparer.Ordinal).Select(r => r.Id), all.Select(r => r.Id));
    }
}
