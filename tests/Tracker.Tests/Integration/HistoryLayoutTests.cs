using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Tracker.Core;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Metric history in the run's partition of the runs table (issue 11 items 3 and 5): every log-batch is one storage
/// request, and history written by the layout before it (table <c>{prefix}metrics</c>, partition = run id) keeps
/// reading, compacting and purging correctly.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class HistoryLayoutTests(AzuriteFixture azurite)
{
    private static List<Metric> Points(string key, int from, int count) =>
        Enumerable.Range(from, count).Select(s => new Metric(key, s * 0.25, 1_000 + s, s)).ToList();

    private static async Task<List<long>> StepsAsync(TrackingStore store, string runId, string key) =>
        (await store.GetMetricHistoryAsync(runId, key, null, null)).Items.Select(m => m.Step).Order().ToList();

    private static List<long> Range(params (int From, int Count)[] ranges) =>
        ranges.SelectMany(r => Enumerable.Range(r.From, r.Count)).Select(s => (long)s).Order().ToList();

    [Fact]
    public async Task EveryKindOfLogBatchIsOneStorageRequestWhenTheRunRowIsCached()
    {
        var t = new TrackingInstance(azurite);
        var experimentId = await t.Store.CreateExperimentAsync("one-request", []);
        var runId = (await t.Store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId; // caches the run row
        var store = t.Store;

        Assert.Equal(1, await TrackingInstance.CountRequestsAsync(() => store.LogBatchAsync(runId, [new Metric("single", 0.5, 10, 0)], [], [])));
        Assert.Equal(1, await TrackingInstance.CountRequestsAsync(() => store.LogBatchAsync(runId, [], [new KeyValue("lr", "0.1")], [], singleParamCall: true)));
        Assert.Equal(1, await TrackingInstance.CountRequestsAsync(() => store.LogBatchAsync(runId, [], [], [new KeyValue("phase", "train")])));
        Assert.Equal(1, await TrackingInstance.CountRequestsAsync(() => store.LogBatchAsync(runId, Points("loss", 0, 1000), [], [])));
        Assert.Equal(1, await TrackingInstance.CountRequestsAsync(() => store.LogBatchAsync(runId, [],
            Enumerable.Range(0, 100).Select(i => new KeyValue($"p{i}", new string('v', 200))).ToList(),
            Enumerable.Range(0, 100).Select(i => new KeyValue($"t{i}", new string('x', 200))).ToList())));

        // Batches of 32 points wait in the run row until it holds 8 KiB; the batch that fills it moves them into a
        // history row, in the same transaction.
        Assert.Single(await t.RunsTableKeysAsync(experimentId, $"h:{runId}:u:")); // the 1000-point batch's
        var batches = 0;
        while ((await t.RunsTableKeysAsync(experimentId, $"h:{runId}:u:")).Count == 1)
        {
            Assert.True(batches < 100, "The run row's buffer never flushed.");
            Assert.Equal(1, await TrackingInstance.CountRequestsAsync(() => store.LogBatchAsync(runId, Points("buffered", batches * 32, 32), [], [])));
            batches++;
        }
        Assert.True(batches > 1);

        Assert.Equal(Range((0, 1000)), await StepsAsync(store, runId, "loss"));
        Assert.Equal(Range((0, batches * 32)), await StepsAsync(store, runId, "buffered"));
        Assert.Equal([0L], await StepsAsync(store, runId, "single"));
        var run = await store.GetRunAsync(runId);
        Assert.Equal(101, run.Params.Count);
        Assert.Equal(999, run.Metrics.Single(m => m.Key == "loss").Step);
    }

    /// <summary>
    /// Points move run-row buffer → batch rows (a flush) → compacted rows (a compaction). A history read that such a
    /// move falls between the reads of two places must still see every point once: the move is made to happen, from
    /// another instance, just before the reader's second (then third) request about the run. The reader reads the run
    /// row, then the batch rows, then the compacted rows; in any other order a point on the move can be missed.
    /// </summary>
    [Theory]
    [InlineData(2)] // a flush after the first read
    [InlineData(3)] // a compaction after the second
    public async Task PointsMovingBetweenAReadsQueriesAreSeenOnce(int beforeRequest)
    {
        var writer = new TrackingInstance(azurite, historyRowsPerCompaction: 2);
        var experimentId = await writer.Store.CreateExperimentAsync("moving", []);
        var runId = (await writer.Store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId;
        var interleave = new BeforeNthRequest(r => r.Contains(runId, StringComparison.Ordinal), beforeRequest);
        var reader = new TrackingInstance(azurite, prefix: writer.Prefix, policy: interleave);

        var logged = 0;
        async Task LogAsync(int points)
        {
            await writer.Store.LogBatchAsync(runId, Points("loss", logged, points), [], []);
            logged += points;
        }
        Func<Task> move;
        if (beforeRequest == 2)
        {
            // Fill the buffer to just below its flush size (a copy of it predicts when), so the next batch flushes it.
            var buffer = PointBuffer.Empty();
            while (true)
            {
                var next = Points("loss", logged, 32).Select(p => new MetricPoint(p.Step, p.Timestamp, p.Value)).ToList();
                var probe = buffer.Copy();
                probe.Add([("loss", next)]);
                if (probe.IsFull) break;
                buffer = probe;
                await LogAsync(32);
            }
            Assert.Empty(await writer.RunsTableKeysAsync(experimentId, $"h:{runId}:"));
            move = async () =>
            {
                await LogAsync(32);
                Assert.Single(await writer.RunsTableKeysAsync(experimentId, $"h:{runId}:u:"));
            };
        }
        else
        {
            await LogAsync(40); // one batch row; the next one starts a compaction
            move = async () =>
            {
                await LogAsync(40);
                Assert.Empty(await writer.RunsTableKeysAsync(experimentId, $"h:{runId}:u:"));
                Assert.NotEmpty(await writer.RunsTableKeysAsync(experimentId, $"h:{runId}:c:"));
            };
        }

        interleave.Arm(move);
        var steps = await StepsAsync(reader.Store, runId, "loss");
        Assert.True(interleave.Ran);
        // Every point acknowledged before the read began, once; the moved batch may or may not be seen.
        Assert.Equal(steps.Distinct().Count(), steps.Count);
        var before = logged - (beforeRequest == 2 ? 32 : 40);
        Assert.Equal(Range((0, before)), steps.Take(before));
        Assert.Equal(Range((0, logged)), await StepsAsync(reader.Store, runId, "loss"));
    }

    /// <summary>Runs a test's work just before the <c>n</c>-th request whose method and path-and-query match is sent.</summary>
    private sealed class BeforeNthRequest(Func<string, bool> matches, int n) : HttpPipelinePolicy
    {
        private Func<Task>? _work;
        private int _seen;

        public bool Ran { get; private set; }

        public void Arm(Func<Task> work) => (_work, _seen) = (work, 0);

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (_work is { } work && matches(Uri.UnescapeDataString(message.Request.Uri.ToString())) && Interlocked.Increment(ref _seen) == n)
            {
                _work = null;
                await work();
                Ran = true;
            }
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The store calls storage asynchronously.");
    }

    [Fact]
    public async Task ANewRunsHistoryIsReadFromTheRunsTableOnly()
    {
        var t = new TrackingInstance(azurite);
        var experimentId = await t.Store.CreateExperimentAsync("new-layout", []);
        var runId = (await t.Store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId;
        await t.Store.LogBatchAsync(runId, Points("loss", 0, 40), [], []);
        await t.Store.LogBatchAsync(runId, Points("loss", 40, 1), [], []);

        var row = await t.Table("runs").GetEntityAsync<TableEntity>(experimentId, "r:" + runId);
        Assert.Contains("\"historyLayout\":2", Encoding.UTF8.GetString(row.Value.GetBinary("D0")));
        t.Requests.Clear();
        Assert.Equal(Range((0, 41)), await StepsAsync(t.Store, runId, "loss"));
        Assert.NotEmpty(t.Requests);
        Assert.DoesNotContain(t.Requests, r => r.Contains(t.Prefix + "metrics", StringComparison.Ordinal));
        Assert.Empty(await t.RowsAsync("metrics", TableClient.CreateQueryFilter($"PartitionKey eq {runId}")));
    }

    /// <summary>
    /// A run as the layout before <c>historyLayout</c> left it, written with raw table calls exactly as that code wrote
    /// it: the run row (document without the marker, two points in its buffer), two batch rows and a compacted row in
    /// table <c>{prefix}metrics</c>, partition = run id; the compacted row repeats one point of a batch row, as a
    /// compaction interrupted before its deletes leaves it. Then everything goes through the store.
    /// </summary>
    [Fact]
    public async Task HistoryWrittenByThePreviousLayoutIsReadCompactedExtendedAndPurgedPointForPoint()
    {
        var t = new TrackingInstance(azurite, historyRowsPerCompaction: 4);
        var experimentId = await t.Store.CreateExperimentAsync("old-layout", []); // creates the tables
        var runId = RunIds.New(experimentId);
        var json = $$"""
            {"runId":"{{runId}}","experimentId":"{{experimentId}}","runName":"old-run","userId":"u","status":"RUNNING","startTime":1,
             "lifecycle":"active","params":[],"tags":[{"key":"mlflow.runName","value":"old-run"}],
             "metrics":[{"key":"loss","value":49.75,"timestamp":1199,"step":199}],"inputs":[],"modelInputs":[],"modelOutputs":[],
             "pendingHistoryRows":2}
            """;
        var runRow = new TableEntity(experimentId, "r:" + runId) { ["Lifecycle"] = "active", ["Spill"] = "", ["D0"] = Encoding.UTF8.GetBytes(json), ["DN"] = 1 };
        var buffer = PointBuffer.Empty();
        buffer.Add([("loss", Points("loss", 0, 10).Select(p => new MetricPoint(p.Step, p.Timestamp, p.Value)).ToList())]);
        buffer.WriteTo(runRow, changedOnly: false);
        await t.Table("runs").AddEntityAsync(runRow);
        var old = t.Table("metrics");
        await old.AddEntityAsync(OldHistoryRow(runId, MetricPoints.BatchRowPrefix, Points("loss", 10, 41))); // 10..50
        await old.AddEntityAsync(OldHistoryRow(runId, MetricPoints.BatchRowPrefix, Points("loss", 51, 39))); // 51..89
        await old.AddEntityAsync(OldHistoryRow(runId, MetricPoints.CompactedRowPrefix, Points("loss", 100, 100).Append(Points("loss", 50, 1)[0]).ToList()));
        var oldRows = () => t.RowsAsync("metrics", TableClient.CreateQueryFilter($"PartitionKey eq {runId}"));
        var newRows = (string kind) => t.RunsTableKeysAsync(experimentId, $"h:{runId}:{kind}");

        // Read: buffer, both old batch rows and the compacted row, the repeated point once.
        var before = Range((0, 90), (100, 100));
        Assert.Equal(before, await StepsAsync(t.Store, runId, "loss"));
        var sampled = await t.Store.GetMetricHistoryBulkIntervalAsync([runId], "loss", null, null, 2500);
        Assert.Equal(before, sampled.Select(m => m.Metric.Step).Order().ToList());

        // New points of an old run go to the new place: a history row of its own, and one point into the buffer.
        await t.Store.LogBatchAsync(runId, Points("loss", 200, 40), [], []);
        await t.Store.LogBatchAsync(runId, Points("loss", 240, 1), [], []);
        Assert.Single(await newRows("u:"));
        Assert.Equal(3, (await oldRows()).Count);
        Assert.Equal(Range((0, 90), (100, 141)), await StepsAsync(t.Store, runId, "loss"));

        // The fourth history row since the last compaction (two old, two new) compacts both places into the new one.
        await t.Store.LogBatchAsync(runId, Points("loss", 300, 40), [], []);
        Assert.Empty(await newRows("u:"));
        Assert.NotEmpty(await newRows("c:"));
        Assert.Equal([MetricPoints.CompactedRowPrefix], (await oldRows()).Select(r => r.RowKey[..2]));
        var after = Range((0, 90), (100, 141), (300, 40));
        Assert.Equal(after, await StepsAsync(t.Store, runId, "loss"));
        Assert.Equal(339, (await t.Store.GetRunAsync(runId)).Metrics.Single().Step);

        // Purge: both places emptied, then the tombstone.
        await t.Store.DeleteRunAsync(runId);
        Assert.True(await t.Store.DeleteRunDataRowsAsync(runId, 1000) > 0);
        Assert.Empty(await oldRows());
        Assert.Empty(await t.RunsTableKeysAsync(experimentId, $"h:{runId}:"));
        Assert.True(await t.Store.TombstoneRunAsync(runId));
        Assert.Empty(await StepsAsync(t.Store, runId, "loss"));
    }

    /// <summary>A history row of table <c>{prefix}metrics</c> as the previous layout wrote it: partition = run id.</summary>
    private static TableEntity OldHistoryRow(string runId, string kind, List<Metric> points)
    {
        var row = new TableEntity(runId, kind + MetricPoints.UniqueSuffix());
        var pieces = MetricPoints.PieceProperties(MetricPoints.KeyProperty(points[0].Key));
        var packed = MetricPoints.PackPieces(points.Select(p => new MetricPoint(p.Step, p.Timestamp, p.Value)).ToList());
        for (var i = 0; i < packed.Count; i++) row[pieces[i]] = packed[i];
        return row;
    }
}
