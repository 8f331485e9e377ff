using System.Collections.Concurrent;
using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Searches over several Tracker instances sharing one storage (issue 11 §1–2): each instance is a TrackingStore with a
/// table client, clock and search cache of its own, as separate processes would have. Writes acknowledged before a
/// search starts are in it, whichever instance wrote them and however its clock is set; a cold instance answers from
/// the snapshot blob and the feed's tail.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SearchFeedTests(AzuriteFixture azurite)
{
    private readonly string _prefix = "sf" + Guid.NewGuid().ToString("N")[..12];
    private string Container => _prefix + "-snapshots";

    /// <summary>The local clock of a machine set <paramref name="skew"/> away from the truth; its monotonic clock can be
    /// moved on by hand (an instance left idle) without moving its wall clock.</summary>
    private sealed class SkewedTime(TimeSpan skew) : TimeProvider
    {
        public TimeSpan Skew { get; set; } = skew;
        public TimeSpan Idle { get; set; }
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Skew;
        public override long GetTimestamp() => System.GetTimestamp() + (long)(Idle.TotalSeconds * TimestampFrequency);
    }

    /// <summary>Counts the blob GETs of one instance.</summary>
    private sealed class BlobReads : HttpPipelineSynchronousPolicy
    {
        public int Count;
        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Get) Interlocked.Increment(ref Count);
        }
    }

    private sealed record Instance(TrackingStore Store, SkewedTime Time, BlobReads BlobReads);

    /// <param name="calibrated">False: the store keys change rows by its own local clock (storage's Date never seen).</param>
    /// <param name="snapshots">False: no blob client, so every first search scans the run rows.</param>
    /// <param name="policy">One more policy in the table client's pipeline (a slow storage).</param>
    /// <param name="requestTimeout">Each call's storage budget (StorageOptions.RequestTimeout).</param>
    /// <param name="blobPolicy">One more policy in the blob client's pipeline (slow snapshot uploads).</param>
    private Instance NewInstance(
        TimeSpan skew = default, bool calibrated = true, bool snapshots = true, HttpPipelinePolicy? policy = null, TimeSpan? requestTimeout = null,
        HttpPipelinePolicy? blobPolicy = null)
    {
        var time = new SkewedTime(skew);
        var clock = new StorageClock(time);
        var tableOptions = new TableClientOptions();
        if (calibrated) tableOptions.AddPolicy(clock, HttpPipelinePosition.PerRetry);
        tableOptions.AddPolicy(new StorageRequestCounter(), HttpPipelinePosition.PerRetry);
        tableOptions.AddPolicy(new KeysOnlyQueries(), HttpPipelinePosition.PerCall);
        if (policy is not null) tableOptions.AddPolicy(policy, HttpPipelinePosition.PerRetry);
        var tables = new TableServiceClient(azurite.ConnectionString, tableOptions);
        var blobReads = new BlobReads();
        var blobOptions = new BlobClientOptions();
        blobOptions.AddPolicy(new StorageRequestCounter(), HttpPipelinePosition.PerRetry);
        blobOptions.AddPolicy(blobReads, HttpPipelinePosition.PerRetry);
        if (blobPolicy is not null) blobOptions.AddPolicy(blobPolicy, HttpPipelinePosition.PerRetry);
        var storage = Options.Create(new StorageOptions
        {
            ConnectionString = azurite.ConnectionString, TablePrefix = _prefix, SearchSnapshotsContainer = Container,
            RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30),
        });
        var keys = new ServerKeys(tables, storage, Options.Create(new AuthOptions()));
        var store = new TrackingStore(tables, storage, keys, NullLogger<TrackingStore>.Instance, clock, time,
            snapshots ? new BlobServiceClient(azurite.ConnectionString, blobOptions) : null);
        return new Instance(store, time, blobReads);
    }

    private TableClient RunsTable => new TableServiceClient(azurite.ConnectionString).GetTableClient(_prefix + "runs");

    private static async Task<List<Run>> SearchAsync(TrackingStore store, string experimentId, string? filter = null, ViewType view = ViewType.All) =>
        [.. (await store.SearchRunsAsync([experimentId], filter, view, 50000, [], null)).Items];

    private static Task<Run> CreateRunAsync(TrackingStore store, string experimentId, params KeyValue[] tags) =>
        store.CreateRunAsync(experimentId, "tester", null, 1, tags);

    private static Task SetTagAsync(TrackingStore store, string runId, string key, string value) =>
        store.LogBatchAsync(runId, [], [], [new KeyValue(key, value)]);

    private static string? TagOf(Run run, string key) => run.Tags.LastOrDefault(t => t.Key == key)?.Value;

    private async Task<List<string>> ChangeKeysAsync(string experimentId)
    {
        var keys = new List<string>();
        await foreach (var row in RunsTable.QueryAsync<TableEntity>(
                           $"PartitionKey eq '{experimentId}' and RowKey ge '{ChangeFeed.RowPrefix}' and RowKey lt '{ChangeFeed.End}'", select: ["RowKey"]))
            keys.Add(row.RowKey);
        return keys;
    }

    /// <summary>
    /// Change rows written before rows were coalesced (one per write, the write's id at the end of the key, no
    /// property) are still read: a change that only such a row announces reaches a reader's view.
    /// </summary>
    [Fact]
    public async Task AChangeRowOfTheLayoutBeforeCoalescingIsReadLikeAnyOther()
    {
        var writer = NewInstance().Store;
        var reader = NewInstance().Store;
        var experimentId = await writer.CreateExperimentAsync("old-change-rows", []);
        var runId = (await CreateRunAsync(writer, experimentId)).Info.RunId;
        Assert.Null(TagOf(Assert.Single(await SearchAsync(reader, experimentId)), "t"));

        await SetTagAsync(writer, runId, "t", "1");
        // Now only a row of the old layout announces the run's changes.
        var rows = await ChangeKeysAsync(experimentId);
        var newest = rows.Select(key => ChangeFeed.Parse(key)!.Value.At).Max();
        foreach (var key in rows) await RunsTable.DeleteEntityAsync(experimentId, key);
        await RunsTable.AddEntityAsync(new TableEntity(experimentId, $"{ChangeFeed.KeyAt(newest)}:{runId}:0a1b2c3d"));

        Assert.Equal("1", TagOf(Assert.Single(await SearchAsync(reader, experimentId)), "t"));
    }

    /// <summary>
    /// Two writer instances (one with a clock 10 minutes slow, which storage's Date corrects) and a reader. Writers keep
    /// writing, each run alternately through either instance, while the reader searches: every write acknowledged before
    /// a search starts must be in it. Without the clock correction the slow instance's change rows sort before the
    /// reader's cursor; without the reading margin, changes keyed just before a reader's query are missed.
    /// </summary>
    [Fact]
    public async Task EveryWriteAcknowledgedBeforeASearchIsInItAcrossInstancesWithSkewedClocks()
    {
        var slow = NewInstance(TimeSpan.FromMinutes(-10)).Store;
        var fast = NewInstance().Store;
        var reader = NewInstance().Store;
        var experimentId = await fast.CreateExperimentAsync("feed-exactness", []);
        Assert.Empty(await SearchAsync(reader, experimentId)); // the reader's view exists before any write

        // Per run: the newest sequence number acknowledged, and whether its deletion was.
        var acknowledged = new ConcurrentDictionary<string, (int Seq, bool Deleted)>();
        using var stop = new CancellationTokenSource();
        async Task WriteAsync(int writer)
        {
            var random = new Random(writer);
            var mine = new List<string>();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var via = i % 2 == writer % 2 ? slow : fast;
                if (mine.Count < 4 || random.Next(4) == 0)
                {
                    var run = await CreateRunAsync(via, experimentId, new KeyValue("seq", "0"));
                    mine.Add(run.Info.RunId);
                    acknowledged[run.Info.RunId] = (0, false);
                    continue;
                }
                var runId = mine[random.Next(mine.Count)];
                var (seq, deleted) = acknowledged[runId];
                if (!deleted && random.Next(10) == 0)
                {
                    await via.DeleteRunAsync(runId);
                    acknowledged[runId] = (seq, true);
                }
                else if (!deleted)
                {
                    await SetTagAsync(via, runId, "seq", (seq + 1).ToString());
                    acknowledged[runId] = (seq + 1, false);
                }
            }
        }

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => WriteAsync(w))).ToList();
        try
        {
            for (var round = 0; round < 60; round++)
            {
                var expected = acknowledged.ToArray();
                var found = (await SearchAsync(reader, experimentId)).ToDictionary(r => r.Info.RunId);
                foreach (var (runId, (seq, deleted)) in expected)
                {
                    Assert.True(found.TryGetValue(runId, out var run), $"round {round}: run {runId} (acknowledged) is missing");
                    Assert.True(int.Parse(TagOf(run, "seq")!) >= seq, $"round {round}: run {runId} has seq {TagOf(run, "seq")}, {seq} was acknowledged");
                    if (deleted) Assert.Equal(LifecycleStage.Deleted, run.Info.LifecycleStage);
                }
                if (writers.Any(w => w.IsFaulted)) break;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} runs were written");
    }

    /// <summary>
    /// A cold instance reads the snapshot (one GET) and the feed's tail, not the run rows. To tell the two apart, one run
    /// row is changed behind the feed's back: a scan sees that, a snapshot does not.
    /// </summary>
    [Fact]
    public async Task AColdInstanceAnswersFromTheSnapshotAndTheTailAndStaysExact()
    {
        var writer = NewInstance();
        var experimentId = await writer.Store.CreateExperimentAsync("cold-start", []);
        var runs = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var run = await CreateRunAsync(writer.Store, experimentId, new KeyValue("i", i.ToString()));
            await writer.Store.LogBatchAsync(run.Info.RunId, [new Metric("acc", i / 30.0, 1, 0)], [new KeyValue("lr", "0.01")], []);
            runs.Add(run.Info.RunId);
        }
        Assert.Equal(30, (await SearchAsync(writer.Store, experimentId)).Count); // first touch: a scan, then a snapshot
        await writer.Store.SnapshotWritesSettled();
        Assert.True(await new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container)
            .GetBlobClient(writer.Store.SnapshotBlob(experimentId)).ExistsAsync());

        // Behind the feed's back: the run row alone says purged.
        await RunsTable.UpdateEntityAsync(new TableEntity(experimentId, "r:" + runs[0]) { ["Lifecycle"] = "purged" }, Azure.ETag.All, TableUpdateMode.Merge);
        Assert.DoesNotContain(runs[0], (await SearchAsync(NewInstance(snapshots: false).Store, experimentId)).Select(r => r.Info.RunId));

        // The tail: a new run and a changed one.
        var added = (await CreateRunAsync(writer.Store, experimentId, new KeyValue("i", "new"))).Info.RunId;
        await writer.Store.LogBatchAsync(runs[1], [new Metric("acc", 0.99, 2, 1)], [], []);

        var cold = NewInstance();
        await cold.Store.GetExperimentAsync(experimentId); // tables and keys set up, as on any instance after its first request
        var counter = StorageRequestCounter.Begin();
        var found = await SearchAsync(cold.Store, experimentId, "metrics.acc > 0.5");
        Assert.True(counter.Count <= 4, $"a cold search cost {counter.Count} storage requests (snapshot, feed, two changed runs)");
        Assert.Equal(1, cold.BlobReads.Count);
        var all = (await SearchAsync(cold.Store, experimentId)).Select(r => r.Info.RunId).ToHashSet();
        Assert.Contains(runs[0], all); // from the snapshot
        Assert.Contains(added, all);
        Assert.Equal(31, all.Count);
        Assert.Contains(runs[1], found.Select(r => r.Info.RunId));
        Assert.Equal(0.99, found.Single(r => r.Info.RunId == runs[1]).Metrics.Single(m => m.Key == "acc").Value);

        // Later writes through another instance: still exact.
        await writer.Store.DeleteRunAsync(runs[2]);
        await SetTagAsync(writer.Store, runs[3], "i", "changed");
        Assert.DoesNotContain(runs[2], (await SearchAsync(cold.Store, experimentId, view: ViewType.ActiveOnly)).Select(r => r.Info.RunId));
        Assert.Equal([runs[3]], (await SearchAsync(cold.Store, experimentId, "tags.i = 'changed'")).Select(r => r.Info.RunId));
        Assert.Equal(1, cold.BlobReads.Count);
    }

    /// <summary>Delays every scan of run rows (the first search's load with no snapshot) and counts them.</summary>
    private sealed class SlowScans(TimeSpan delay) : HttpPipelinePolicy
    {
        public int Count;

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (Uri.UnescapeDataString(message.Request.Uri.Query).Contains("RowKey ge 'r:'", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref Count);
                await Task.Delay(delay);
            }
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The store calls storage asynchronously.");
    }

    /// <summary>
    /// A first scan longer than a request's storage budget (100,000 runs never searched, on Azurite) answers a retryable
    /// 503, but goes on: the client's retry gets its result instead of starting it over and timing out again, forever.
    /// </summary>
    [Fact]
    public async Task AFirstScanLongerThanARequestsBudgetFinishesForTheRetry()
    {
        var writer = NewInstance();
        var experimentId = await writer.Store.CreateExperimentAsync("slow-first-scan", []);
        for (var i = 0; i < 5; i++) await CreateRunAsync(writer.Store, experimentId);

        var slow = new SlowScans(TimeSpan.FromSeconds(2));
        var reader = NewInstance(snapshots: false, policy: slow, requestTimeout: TimeSpan.FromMilliseconds(700));
        await reader.Store.GetExperimentAsync(experimentId);
        var error = await Assert.ThrowsAsync<Tracker.Core.MlflowException>(() => SearchAsync(reader.Store, experimentId));
        Assert.Equal(503, error.Code.HttpStatus);

        List<Run>? found = null;
        for (var attempt = 0; found is null && attempt < 20; attempt++)
        {
            try
            {
                found = await SearchAsync(reader.Store, experimentId);
            }
            catch (Tracker.Core.MlflowException e) when (e.Code.HttpStatus == 503)
            {
                // Still scanning: the client backs off and retries.
            }
        }
        Assert.NotNull(found);
        Assert.Equal(5, found.Count);
        Assert.Equal(1, slow.Count);
    }

    /// <summary>A load that finished while nobody waited, and then lay unused for longer than pruning allows (its cursor
    /// may predate change rows pruned since), is not applied: the next search loads again.</summary>
    [Fact]
    public async Task ALoadLeftUnusedTooLongIsDoneAgain()
    {
        var writer = NewInstance();
        var experimentId = await writer.Store.CreateExperimentAsync("stale-load", []);
        await CreateRunAsync(writer.Store, experimentId);

        var slow = new SlowScans(TimeSpan.FromSeconds(1));
        var reader = NewInstance(snapshots: false, policy: slow, requestTimeout: TimeSpan.FromMilliseconds(300));
        await reader.Store.GetExperimentAsync(experimentId);
        await Assert.ThrowsAsync<Tracker.Core.MlflowException>(() => SearchAsync(reader.Store, experimentId));
        await Task.Delay(TimeSpan.FromSeconds(2)); // the load finishes with nobody waiting
        reader.Time.Idle = reader.Store.FeedPruneDelay;

        List<Run>? found = null;
        for (var attempt = 0; found is null && attempt < 20; attempt++)
        {
            try
            {
                found = await SearchAsync(reader.Store, experimentId);
            }
            catch (Tracker.Core.MlflowException e) when (e.Code.HttpStatus == 503)
            {
            }
        }
        Assert.Single(found!);
        Assert.Equal(2, slow.Count);
    }

    /// <summary>
    /// A sweep fills an experiment and nobody searches it: the writing instance, having written enough change rows,
    /// refreshes its view in the background and writes a snapshot, so the first search on a new instance reads that and
    /// a short tail rather than every run row.
    /// </summary>
    [Fact]
    public async Task WritersSnapshotAnExperimentNobodySearched()
    {
        var writer = NewInstance();
        writer.Store.RefreshAfterWrites = 20;
        var experimentId = await writer.Store.CreateExperimentAsync("written-not-searched", []);
        for (var i = 0; i < 25; i++) await CreateRunAsync(writer.Store, experimentId, new KeyValue("i", i.ToString()));

        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container).GetBlobClient(writer.Store.SnapshotBlob(experimentId));
        for (var wait = 0; !await blob.ExistsAsync() && wait < 100; wait++) await Task.Delay(100);
        Assert.True(await blob.ExistsAsync(), "no snapshot after 25 runs written with RefreshAfterWrites = 20");

        var slow = new SlowScans(TimeSpan.Zero);
        var cold = NewInstance(policy: slow);
        Assert.Equal(25, (await SearchAsync(cold.Store, experimentId)).Count);
        Assert.Equal(1, cold.BlobReads.Count);
        Assert.Equal(0, slow.Count);
    }

    /// <summary>
    /// After a sweep the writer settles: once the experiment has been quiet, its snapshot gets what the sweep wrote since
    /// the last one, so the first search on a new instance reads one blob and re-reads no run from the feed's tail.
    /// </summary>
    [Fact]
    public async Task AWriterSnapshotsTheTailOnceTheExperimentIsQuiet()
    {
        var writer = NewInstance();
        writer.Store.RefreshAfterWrites = 5; // a snapshot early in the sweep, then a tail too short for another
        writer.Store.QuietPeriod = TimeSpan.FromMilliseconds(500);
        var experimentId = await writer.Store.CreateExperimentAsync("settles-when-quiet", []);
        for (var i = 0; i < 30; i++) await CreateRunAsync(writer.Store, experimentId, new KeyValue("i", i.ToString()));

        Assert.Equal(30, await RunsInSnapshotAsync(writer.Store, experimentId, expected: 30));

        var cold = NewInstance();
        await cold.Store.GetExperimentAsync(experimentId); // the tables' set-up is not the search's
        var requests = StorageRequestCounter.Begin();
        Assert.Equal(30, (await SearchAsync(cold.Store, experimentId)).Count);
        // The feed's tail was read with the snapshot (the load's own requests, not the search's), every key in it
        // already in the snapshot: the search itself re-reads no run.
        Assert.Equal(0, requests.Count);
        Assert.Equal(1, cold.BlobReads.Count);
    }

    /// <summary>
    /// A cold instance's first search may be its first storage call at all (auth off): searches and run reads no longer
    /// wait for the tables' set-up, whose answers used to set the instance's storage clock. A clock 10 minutes fast must
    /// still not put the feed cursor past a change written next.
    /// </summary>
    [Fact]
    public async Task AFirstSearchWithAClockFarAheadMissesNoLaterWrite()
    {
        var writer = NewInstance().Store;
        var experimentId = await writer.CreateExperimentAsync("first-call-is-a-search", []);
        await CreateRunAsync(writer, experimentId);

        var reader = NewInstance(TimeSpan.FromMinutes(10)).Store;
        Assert.Single(await SearchAsync(reader, experimentId));
        await CreateRunAsync(writer, experimentId);
        Assert.Equal(2, (await SearchAsync(reader, experimentId)).Count);
    }

    /// <summary>
    /// A sweep's writer that stopped before its experiment turned quiet (scaled in, redeployed) leaves a snapshot whose
    /// tail holds the sweep's last seconds, all keys the snapshot already applied: nothing new, so no threshold of new
    /// changes is ever passed, yet every new instance reads those rows. The first new instance to read them past the
    /// threshold writes a newer snapshot, and the next one's tail is empty.
    /// </summary>
    [Fact]
    public async Task AColdReaderReplacesASnapshotWhoseTailItAlreadyHolds()
    {
        var writer = NewInstance();
        writer.Store.QuietPeriod = TimeSpan.FromHours(1); // gone before the experiment turns quiet
        var experimentId = await writer.Store.CreateExperimentAsync("stale-tail", []);
        for (var i = 0; i < 10; i++) await CreateRunAsync(writer.Store, experimentId);
        Assert.Equal(10, (await SearchAsync(writer.Store, experimentId)).Count); // a scan, then the first snapshot
        Assert.Equal(10, await RunsInSnapshotAsync(writer.Store, experimentId, expected: 10));
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container).GetBlobClient(writer.Store.SnapshotBlob(experimentId));
        var first = (await blob.GetPropertiesAsync()).Value;

        // A reader whose clock is 10 s ahead (never corrected) reads the feed as one would more than the read margin
        // after the sweep: every change row is then older than its cursor.
        var reader = NewInstance(TimeSpan.FromSeconds(10), calibrated: false);
        reader.Store.SnapshotAfterChangeRows = 5;
        Assert.Equal(10, (await SearchAsync(reader.Store, experimentId)).Count);
        await reader.Store.SnapshotWritesSettled();

        var second = (await blob.GetPropertiesAsync()).Value;
        Assert.NotEqual(first.ETag, second.ETag);
        var cursor = new DateTimeOffset(long.Parse(second.Metadata["cursor"], CultureInfo.InvariantCulture), TimeSpan.Zero);
        Assert.All(await ChangeKeysAsync(experimentId), key => Assert.True(ChangeFeed.Parse(key)!.Value.At < cursor));
        Assert.Equal(10, (await SearchAsync(NewInstance().Store, experimentId)).Count);
    }

    /// <summary>
    /// The sweep's writer searched right after its last writes and snapshotted then: that snapshot holds every run, but
    /// its cursor lies before the sweep's last seconds, and its later searches moved its view's cursor past them. Nothing
    /// is new and no run was re-read since, yet every new instance would read those seconds of change rows: once the
    /// experiment is quiet, the writer replaces the snapshot all the same, and its tail is empty.
    /// </summary>
    [Fact]
    public async Task AWriterThatSnapshottedDuringItsLastSecondsStillSettles()
    {
        var writer = NewInstance(calibrated: false);
        writer.Store.QuietPeriod = TimeSpan.FromSeconds(4); // longer than the searches below take on a loaded machine
        var experimentId = await writer.Store.CreateExperimentAsync("snapshot-in-last-seconds", []);
        for (var i = 0; i < 10; i++) await CreateRunAsync(writer.Store, experimentId);
        Assert.Equal(10, (await SearchAsync(writer.Store, experimentId)).Count); // a scan, then the first snapshot
        await writer.Store.SnapshotWritesSettled();
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container).GetBlobClient(writer.Store.SnapshotBlob(experimentId));
        var first = (await blob.GetPropertiesAsync()).Value;
        for (var i = 0; i < 2; i++) Assert.Equal(10, (await SearchAsync(writer.Store, experimentId)).Count);
        Assert.Equal(first.ETag, (await blob.GetPropertiesAsync()).Value.ETag);

        // The quiet period ends more than the read margin after the last write (10 s on, as by default).
        writer.Time.Skew = TimeSpan.FromSeconds(10);
        var settled = first;
        for (var wait = 0; settled.ETag == first.ETag && wait < 100; wait++)
        {
            await Task.Delay(100);
            settled = (await blob.GetPropertiesAsync()).Value;
        }
        Assert.NotEqual(first.ETag, settled.ETag);
        var cursor = new DateTimeOffset(long.Parse(settled.Metadata["cursor"], CultureInfo.InvariantCulture), TimeSpan.Zero);
        Assert.All(await ChangeKeysAsync(experimentId), key => Assert.True(ChangeFeed.Parse(key)!.Value.At < cursor));
    }

    /// <summary>
    /// A reader whose last read found the feed growing cuts its next read into slices by storage time, queried side by
    /// side (a tail of several pages in one round trip), and so does a cold one after the snapshot: between them the
    /// slices still return every change row.
    /// </summary>
    [Fact]
    public async Task AFeedReadCutIntoSlicesMissesNoChange()
    {
        var writer = NewInstance().Store;
        var experimentId = await writer.CreateExperimentAsync("sliced-feed", []);
        var reader = NewInstance().Store;
        reader.FeedSliceRows = 1; // any growth at all: as many slices as allowed
        var runs = 0;
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 6; i++, runs++) await CreateRunAsync(writer, experimentId, new KeyValue("i", runs.ToString(CultureInfo.InvariantCulture)));
            var requests = StorageRequestCounter.Begin();
            var found = await SearchAsync(reader, experimentId);
            Assert.Equal(runs, found.Count);
            // After the first read: several slices, one query each, and a point read per new run.
            if (round > 0) Assert.InRange(requests.Count - 6, 2, TrackingStore.MaxFeedSlices);
        }
        await reader.SnapshotWritesSettled();

        // A cold instance cuts its first read, the tail after the snapshot, by the rate the snapshot records.
        var cold = NewInstance().Store;
        cold.FeedSliceRows = 1;
        Assert.Equal(runs, (await SearchAsync(cold, experimentId)).Count);
    }

    /// <summary>
    /// A snapshot write still under way when the experiment turns quiet (a big experiment's takes seconds) was built before
    /// the sweep's last writes: the writer looks again once it is done, so the settled snapshot still gets every run.
    /// </summary>
    [Fact]
    public async Task TheQuietSnapshotIsNotLostToOneStillBeingWritten()
    {
        var writer = NewInstance(blobPolicy: new SlowBlobs(RequestMethod.Put, TimeSpan.FromSeconds(1.5)));
        writer.Store.RefreshAfterWrites = 5; // a snapshot early in the sweep, still uploading when the sweep ends
        writer.Store.QuietPeriod = TimeSpan.FromMilliseconds(300);
        var experimentId = await writer.Store.CreateExperimentAsync("quiet-while-writing", []);
        for (var i = 0; i < 30; i++) await CreateRunAsync(writer.Store, experimentId, new KeyValue("i", i.ToString()));

        Assert.Equal(30, await RunsInSnapshotAsync(writer.Store, experimentId, expected: 30));
    }

    /// <summary>
    /// A cold instance reads the feed's tail while the snapshot downloads; a load that finished for a search that gave up
    /// (its budget spent waiting) carries a tail older than the next search, which must still see a run created between
    /// the two: it reads the tail again.
    /// </summary>
    [Fact]
    public async Task ATailReadBeforeASearchBeganIsReadAgain()
    {
        var writer = NewInstance();
        var experimentId = await writer.Store.CreateExperimentAsync("tail-older-than-search", []);
        for (var i = 0; i < 3; i++) await CreateRunAsync(writer.Store, experimentId);
        Assert.Equal(3, (await SearchAsync(writer.Store, experimentId)).Count); // which writes the first snapshot
        Assert.Equal(3, await RunsInSnapshotAsync(writer.Store, experimentId, expected: 3));

        var reader = NewInstance(requestTimeout: TimeSpan.FromMilliseconds(700), blobPolicy: new SlowBlobs(RequestMethod.Get, TimeSpan.FromSeconds(1.5)));
        await reader.Store.GetExperimentAsync(experimentId); // the tables' set-up is not the search's
        var gaveUp = await Assert.ThrowsAsync<Tracker.Core.MlflowException>(() => SearchAsync(reader.Store, experimentId));
        Assert.Equal(503, gaveUp.Code.HttpStatus);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the load (download, tail, decode) finishes meanwhile

        await CreateRunAsync(writer.Store, experimentId);
        Assert.Equal(4, (await SearchAsync(reader.Store, experimentId)).Count);
    }

    /// <summary>How many runs the experiment's snapshot blob holds once it holds <paramref name="expected"/> (or after 10 s).</summary>
    private async Task<int> RunsInSnapshotAsync(TrackingStore store, string experimentId, int expected)
    {
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container).GetBlobClient(store.SnapshotBlob(experimentId));
        var runsInSnapshot = 0;
        for (var wait = 0; runsInSnapshot < expected && wait < 100; wait++)
        {
            await Task.Delay(100);
            if (!await blob.ExistsAsync()) continue;
            using var content = (await blob.DownloadStreamingAsync()).Value.Content;
            runsInSnapshot = (await RunSnapshot.ReadAsync(content, new StringPool(), CancellationToken.None))?.Runs.Count ?? 0;
        }
        return runsInSnapshot;
    }

    /// <summary>Blob requests of one method (PUT: snapshot uploads, GET: snapshot downloads) answered late.</summary>
    private sealed class SlowBlobs(RequestMethod method, TimeSpan delay) : HttpPipelinePolicy
    {
        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == method) await Task.Delay(delay);
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The store calls storage asynchronously.");
    }

    /// <summary>Pages of one search reuse its sorted matches only while no view changed: a run created between two pages
    /// (on another instance) takes its place in the order the next page is cut from.</summary>
    [Fact]
    public async Task PagesFollowAChangeMadeBetweenThem()
    {
        var writer = NewInstance();
        var reader = NewInstance();
        var experimentId = await writer.Store.CreateExperimentAsync("paging", []);
        foreach (var start in new[] { 10L, 20L, 30L }) await writer.Store.CreateRunAsync(experimentId, "tester", $"run-{start}", start, []);

        var first = await reader.Store.SearchRunsAsync([experimentId], null, ViewType.All, 1, [], null);
        Assert.Equal("run-30", first.Items.Single().Info.RunName);
        Assert.Equal("run-20", (await reader.Store.SearchRunsAsync([experimentId], null, ViewType.All, 1, [], first.NextPageToken)).Items.Single().Info.RunName);

        await writer.Store.CreateRunAsync(experimentId, "tester", "run-40", 40, []);
        // Offset 1 of the order as it is now: run-40, run-30, …
        Assert.Equal("run-30", (await reader.Store.SearchRunsAsync([experimentId], null, ViewType.All, 1, [], first.NextPageToken)).Items.Single().Info.RunName);
    }

    /// <summary>An instance whose view is older than the stored snapshot loses the conditional write and leaves the newer
    /// snapshot alone; once its view is newer, it replaces the snapshot.</summary>
    [Fact]
    public async Task AnOlderViewNeverOverwritesANewerSnapshot()
    {
        var a = NewInstance();
        var b = NewInstance();
        var experimentId = await a.Store.CreateExperimentAsync("snapshot-race", []);
        await CreateRunAsync(a.Store, experimentId);
        await SearchAsync(a.Store, experimentId);
        await a.Store.SnapshotWritesSettled(); // S1, by a
        await SearchAsync(b.Store, experimentId); // b builds on S1
        Assert.Equal(1, b.BlobReads.Count);

        await CreateRunAsync(a.Store, experimentId);
        await SearchAsync(a.Store, experimentId); // a's view is now newer than b's
        Assert.True(await a.Store.WriteSnapshotNowAsync(experimentId)); // S2 replaces S1
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container).GetBlobClient(a.Store.SnapshotBlob(experimentId));
        var s2 = (await blob.GetPropertiesAsync()).Value;

        Assert.False(await b.Store.WriteSnapshotNowAsync(experimentId)); // b built on S1 and covers less than S2
        Assert.Equal(s2.ETag, (await blob.GetPropertiesAsync()).Value.ETag);

        await CreateRunAsync(a.Store, experimentId);
        Assert.Equal(3, (await SearchAsync(b.Store, experimentId)).Count); // b's view now covers more than S2
        Assert.True(await b.Store.WriteSnapshotNowAsync(experimentId));
        Assert.NotEqual(s2.ETag, (await blob.GetPropertiesAsync()).Value.ETag);
        Assert.Equal(3, (await SearchAsync(NewInstance().Store, experimentId)).Count);
    }

    /// <summary>
    /// Change rows older than the snapshot's cursor minus the pruning delay go once a snapshot is written; newer ones
    /// stay. A view idle for more than half that delay reloads from the snapshot instead of trusting the feed.
    /// </summary>
    [Fact]
    public async Task ChangeRowsArePrunedAfterASnapshotAndIdleViewsReload()
    {
        // A writer whose clock is two hours slow and never corrected writes change rows that look two hours old.
        var old = NewInstance(TimeSpan.FromHours(-2), calibrated: false).Store;
        var experimentId = await old.CreateExperimentAsync("pruning", []);
        for (var i = 0; i < 5; i++) await CreateRunAsync(old, experimentId);
        var reader = NewInstance();
        await CreateRunAsync(reader.Store, experimentId);
        Assert.Equal(6, (await ChangeKeysAsync(experimentId)).Count);

        Assert.Equal(6, (await SearchAsync(reader.Store, experimentId)).Count); // a scan, a snapshot, then a pruning pass
        await reader.Store.SnapshotWritesSettled();
        var left = await ChangeKeysAsync(experimentId);
        Assert.Single(left);
        Assert.True(ChangeFeed.Parse(left[0])!.Value.At > DateTimeOffset.UtcNow - TimeSpan.FromHours(1));

        Assert.Equal(1, reader.BlobReads.Count);
        await SearchAsync(reader.Store, experimentId);
        Assert.Equal(1, reader.BlobReads.Count); // a fresh view reads the feed only
        reader.Time.Idle = reader.Store.FeedPruneDelay / 2 + TimeSpan.FromMinutes(1);
        await CreateRunAsync(reader.Store, experimentId);
        Assert.Equal(7, (await SearchAsync(reader.Store, experimentId)).Count);
        Assert.Equal(2, reader.BlobReads.Count); // idle too long: the snapshot again
    }

    /// <summary>Deleted runs stay searchable as deleted; purged runs (tombstones) and runs whose rows are gone leave
    /// every view, a cold one built from an older snapshot included.</summary>
    [Fact]
    public async Task DeletedAndPurgedRunsAcrossInstances()
    {
        var writer = NewInstance().Store;
        var reader = NewInstance().Store;
        var experimentId = await writer.CreateExperimentAsync("purged", []);
        var kept = (await CreateRunAsync(writer, experimentId)).Info.RunId;
        var deleted = (await CreateRunAsync(writer, experimentId)).Info.RunId;
        var purged = (await CreateRunAsync(writer, experimentId)).Info.RunId;
        Assert.Equal(3, (await SearchAsync(reader, experimentId)).Count);
        await reader.SnapshotWritesSettled(); // the snapshot still holds all three

        await writer.DeleteRunAsync(deleted);
        await writer.DeleteRunAsync(purged);
        Assert.True(await writer.TombstoneRunAsync(purged));

        foreach (var store in new[] { reader, NewInstance().Store })
        {
            Assert.Equal([kept], (await SearchAsync(store, experimentId, view: ViewType.ActiveOnly)).Select(r => r.Info.RunId));
            Assert.Equal([deleted], (await SearchAsync(store, experimentId, view: ViewType.DeletedOnly)).Select(r => r.Info.RunId));
        }
    }

    /// <summary>Runs too large for their row (spill rows) are searched through scans, point reads and snapshots alike.</summary>
    [Fact]
    public async Task SpilledRunsAreSearchedFromScansPointReadsAndSnapshots()
    {
        var writer = NewInstance().Store;
        var experimentId = await writer.CreateExperimentAsync("spilled", []);
        var big = (await CreateRunAsync(writer, experimentId)).Info.RunId;
        var values = new Dictionary<string, string>();
        for (var batch = 0; batch < 2; batch++)
        {
            var @params = Enumerable.Range(0, 100).Select(i => new KeyValue($"p{batch}-{i}", new string((char)('a' + i % 26), 6000))).ToList();
            foreach (var p in @params) values[p.Key] = p.Value;
            await writer.LogBatchAsync(big, [], @params, []);
        }
        Assert.Contains(await ChangeKeysAsync(experimentId), k => k.Contains(big, StringComparison.Ordinal));

        var scanned = NewInstance().Store;
        var viaScan = Assert.Single(await SearchAsync(scanned, experimentId));
        Assert.Equal(values, viaScan.Params.ToDictionary(p => p.Key, p => p.Value));
        await scanned.SnapshotWritesSettled();

        await SetTagAsync(writer, big, "t", "v"); // a point read of a spilled run
        var read = Assert.Single(await SearchAsync(scanned, experimentId, "tags.t = 'v'"));
        Assert.Equal(values, read.Params.ToDictionary(p => p.Key, p => p.Value));

        var fromSnapshot = NewInstance();
        var cold = Assert.Single(await SearchAsync(fromSnapshot.Store, experimentId, "tags.t = 'v'"));
        Assert.Equal(values, cold.Params.ToDictionary(p => p.Key, p => p.Value));
        Assert.Equal(1, fromSnapshot.BlobReads.Count);
    }

    /// <summary>An experiment without runs (or an id nobody created) costs a scan of nothing and leaves no blob; its
    /// first run is found, and then snapshotted.</summary>
    [Fact]
    public async Task AnExperimentWithoutRunsHasNoSnapshotAndItsFirstRunIsFound()
    {
        var a = NewInstance();
        var experimentId = await a.Store.CreateExperimentAsync("empty", []);
        Assert.Empty(await SearchAsync(a.Store, experimentId));
        Assert.Empty(await SearchAsync(a.Store, "987654321"));
        await a.Store.SnapshotWritesSettled();
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container);
        Assert.False(await container.GetBlobClient(a.Store.SnapshotBlob(experimentId)).ExistsAsync());
        Assert.False(await container.GetBlobClient(a.Store.SnapshotBlob("987654321")).ExistsAsync());

        var b = NewInstance();
        Assert.Empty(await SearchAsync(b.Store, experimentId));
        var run = await CreateRunAsync(a.Store, experimentId);
        Assert.Equal([run.Info.RunId], (await SearchAsync(b.Store, experimentId)).Select(r => r.Info.RunId));
        await b.Store.SnapshotWritesSettled();
        Assert.True(await container.GetBlobClient(a.Store.SnapshotBlob(experimentId)).ExistsAsync());
        Assert.Equal([run.Info.RunId], (await SearchAsync(NewInstance().Store, experimentId)).Select(r => r.Info.RunId));
    }

    /// <summary>A snapshot of a format this Tracker does not know is ignored: the runs are scanned and the snapshot
    /// replaced (conditionally on the unknown one's ETag).</summary>
    [Fact]
    public async Task ASnapshotOfAnUnknownVersionIsRebuiltByAScan()
    {
        var a = NewInstance();
        var experimentId = await a.Store.CreateExperimentAsync("unknown-version", []);
        var run = await CreateRunAsync(a.Store, experimentId);
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container);
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlobClient(a.Store.SnapshotBlob(experimentId));
        await blob.UploadAsync(BinaryData.FromBytes([.. "TRSS"u8, RunSnapshot.Version + 1, 1, 2, 3]));

        Assert.Equal([run.Info.RunId], (await SearchAsync(a.Store, experimentId)).Select(r => r.Info.RunId));
        await a.Store.SnapshotWritesSettled();
        var content = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        Assert.Equal(RunSnapshot.Version, content[4]);
        Assert.Equal([run.Info.RunId], (await SearchAsync(NewInstance().Store, experimentId)).Select(r => r.Info.RunId));
    }

    /// <summary>Past the threshold of re-read runs, the instance that noticed writes a new snapshot after answering.</summary>
    [Fact]
    public async Task AGrownTailIsSnapshottedByWhoeverNoticesIt()
    {
        var a = NewInstance();
        a.Store.SnapshotAfterRunReads = 5;
        var experimentId = await a.Store.CreateExperimentAsync("grown-tail", []);
        await CreateRunAsync(a.Store, experimentId);
        await SearchAsync(a.Store, experimentId);
        await a.Store.SnapshotWritesSettled();
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Container).GetBlobClient(a.Store.SnapshotBlob(experimentId));
        var first = (await blob.GetPropertiesAsync()).Value.ETag;

        for (var i = 0; i < 4; i++) await CreateRunAsync(a.Store, experimentId);
        await SearchAsync(a.Store, experimentId);
        await a.Store.SnapshotWritesSettled();
        Assert.Equal(first, (await blob.GetPropertiesAsync()).Value.ETag); // 4 runs re-read: not yet

        for (var i = 0; i < 2; i++) await CreateRunAsync(a.Store, experimentId);
        await SearchAsync(a.Store, experimentId);
        await a.Store.SnapshotWritesSettled();
        Assert.NotEqual(first, (await blob.GetPropertiesAsync()).Value.ETag);
        var cold = NewInstance();
        Assert.Equal(7, (await SearchAsync(cold.Store, experimentId)).Count);
    }
}
