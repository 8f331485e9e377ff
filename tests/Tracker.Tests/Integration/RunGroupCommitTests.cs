using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Tracker.Core;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Group commit of one run's writes (issue 11, log-batch throughput with many writers on one run): while one write of a
/// run is in flight, the writes queued behind it are committed together by the next in line, one entity-group
/// transaction for all of them, each caller still getting its own outcome.
///
/// The tests make the queue deterministic without timing: the first transaction is held at the storage pipeline until
/// the test has started the other writes (each call has queued its write by the time it returns its task), then
/// released.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunGroupCommitTests(AzuriteFixture azurite)
{
    private static List<Metric> Points(string key, int fromStep, int count) =>
        Enumerable.Range(fromStep, count).Select(s => new Metric(key, s * 0.5, 1_000 + s, s)).ToList();

    private static async Task<List<Metric>> HistoryAsync(TrackingStore store, string runId, string key) =>
        [.. (await store.GetMetricHistoryAsync(runId, key, null, null)).Items.OrderBy(m => m.Step)];

    /// <summary>A store whose entity-group transactions are recorded, and which compacts no history during a test.</summary>
    private (TrackingInstance Instance, Transactions Transactions) NewInstance(string? prefix = null)
    {
        var transactions = new Transactions();
        return (new TrackingInstance(azurite, prefix: prefix, historyRowsPerCompaction: 100_000, policy: transactions), transactions);
    }

    private static async Task<string> NewRunAsync(TrackingStore store, string name)
    {
        var experimentId = await store.CreateExperimentAsync(name, []);
        return (await store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId; // caches the run row
    }

    /// <summary>Starts <paramref name="first"/> with its transaction held, then the others (queued behind it), then lets
    /// the first transaction go.</summary>
    private static async Task<Task[]> QueuedBehindOneAsync(Transactions transactions, Func<Task> first, IEnumerable<Func<Task>> others)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        transactions.Arm((1, () => release.Task));
        var started = new List<Task> { first() };
        await HeldAsync(transactions, started[0]);
        started.AddRange(others.Select(write => write()));
        release.SetResult();
        return [.. started];
    }

    /// <summary>Waits until the first armed transaction is held; a write that failed before it got there fails the test.</summary>
    private static async Task HeldAsync(Transactions transactions, Task first)
    {
        if (await Task.WhenAny(transactions.HeldAsync(1), first) == first) await first;
        Assert.False(first.IsCompleted, "The first write ended without sending its transaction.");
    }

    [Fact]
    public async Task EightConcurrentThousandItemBatchesToOneRunShareTransactionsAndAllLand()
    {
        var (t, transactions) = NewInstance();
        var runId = await NewRunAsync(t.Store, "group-eight");
        transactions.Clear();

        var writes = await QueuedBehindOneAsync(transactions,
            () => t.Store.LogBatchAsync(runId, Points("loss", 0, 999), [new KeyValue("p0", "v0")], []),
            Enumerable.Range(1, 7).Select(w => (Func<Task>)(() =>
                t.Store.LogBatchAsync(runId, Points("loss", w * 999, 999), [new KeyValue($"p{w}", $"v{w}")], []))));
        await Task.WhenAll(writes);

        // The first write alone, then the seven that queued behind it in one transaction (one request each, every one
        // of them its own on main).
        Assert.Equal(2, transactions.Sent.Count);
        var loss = await HistoryAsync(t.Store, runId, "loss");
        Assert.Equal(Enumerable.Range(0, 8 * 999).Select(s => (long)s), loss.Select(m => m.Step));
        Assert.All(loss, m => Assert.Equal(m.Step * 0.5, m.Value));
        var run = await t.Store.GetRunAsync(runId);
        Assert.Equal(8 * 999 - 1, run.Metrics.Single(m => m.Key == "loss").Step);
        Assert.Equal((8 * 999 - 1) * 0.5, run.Metrics.Single(m => m.Key == "loss").Value);
        Assert.Equal(Enumerable.Range(0, 8).Select(w => $"p{w}=v{w}").Order(), run.Params.Select(p => $"{p.Key}={p.Value}").Order());
    }

    [Fact]
    public async Task ABatchThatChangesAParamFailsAloneAndNothingOfItIsStored()
    {
        var (t, transactions) = NewInstance();
        var runId = await NewRunAsync(t.Store, "group-conflict");
        await t.Store.LogBatchAsync(runId, [], [new KeyValue("lr", "0.1")], []);
        transactions.Clear();

        var writes = await QueuedBehindOneAsync(transactions,
            () => t.Store.LogBatchAsync(runId, Points("first", 0, 1), [], []),
            [
                () => t.Store.LogBatchAsync(runId, Points("good", 1, 40), [new KeyValue("b", "1")], [new KeyValue("tb", "1")]),
                // A new param before the conflicting one: applying the batch adds it before finding the conflict.
                () => t.Store.LogBatchAsync(runId, Points("bad", 0, 40), [new KeyValue("c_new", "1"), new KeyValue("lr", "0.2")], [new KeyValue("tc", "1")]),
                () => t.Store.LogBatchAsync(runId, Points("good", 41, 1), [new KeyValue("d", "1")], [new KeyValue("td", "1")]),
            ]);
        var conflict = await Assert.ThrowsAsync<MlflowException>(() => writes[2]);
        Assert.Equal(ErrorCode.InvalidParameterValue, conflict.Code);
        Assert.Contains("lr", conflict.Message, StringComparison.Ordinal);
        await Task.WhenAll(writes[0], writes[1], writes[3]);

        Assert.Equal(2, transactions.Sent.Count); // the first; then the two valid ones together
        var run = await t.Store.GetRunAsync(runId);
        Assert.Equal(["b=1", "d=1", "lr=0.1"], run.Params.Select(p => $"{p.Key}={p.Value}").Order());
        Assert.Equal(["tb", "td"], run.Tags.Select(tag => tag.Key).Where(k => !k.StartsWith("mlflow.", StringComparison.Ordinal)).Order());
        Assert.DoesNotContain(run.Metrics, m => m.Key == "bad");
        Assert.Empty(await HistoryAsync(t.Store, runId, "bad"));
        Assert.Equal(Enumerable.Range(1, 41).Select(s => (long)s), (await HistoryAsync(t.Store, runId, "good")).Select(m => m.Step));
        Assert.Equal(41, run.Metrics.Single(m => m.Key == "good").Step);
    }

    [Fact]
    public async Task AViolationSeenOnlyInTheCachedRowIsCheckedAgainstStorageForTheWholeGroup()
    {
        var (a, _) = NewInstance();
        var runId = await NewRunAsync(a.Store, "group-stale-cache");
        var (b, bTransactions) = NewInstance(prefix: a.Prefix);
        await b.Store.LogBatchAsync(runId, [], [new KeyValue("p0", "0")], []); // b caches the run row
        bTransactions.Clear();

        // b deletes the run, and a restores it just after (b's cached row: deleted); the four batches queued behind
        // the delete see a deleted run in b's cache, and an active one in storage.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bTransactions.Arm((1, () => release.Task));
        bTransactions.ArmAfter(1, async () =>
        {
            await a.Store.GetRunAsync(runId); // a's cached row: deleted, so that a writes the restore
            await a.Store.RestoreRunAsync(runId);
        });
        var writes = new List<Task> { b.Store.DeleteRunAsync(runId) };
        await HeldAsync(bTransactions, writes[0]);
        writes.AddRange(Enumerable.Range(1, 4).Select(w => b.Store.LogBatchAsync(runId, Points("m", w, 1), [new KeyValue($"p{w}", $"{w}")], [])));
        release.SetResult();
        await Task.WhenAll(writes);

        Assert.Equal(2, bTransactions.Sent.Count); // the delete; the four together, on the row read from storage
        var run = await a.Store.GetRunAsync(runId);
        Assert.Equal(LifecycleStage.Active, run.Info.LifecycleStage);
        Assert.Equal(Enumerable.Range(0, 5).Select(w => $"p{w}"), run.Params.Select(p => p.Key).Order());
        Assert.Equal([1L, 2, 3, 4], (await HistoryAsync(a.Store, runId, "m")).Select(m => m.Step));
    }

    [Fact]
    public async Task AGroupWhoseDocumentOutgrowsTheRunRowSpillsAndAllLand()
    {
        var (t, transactions) = NewInstance();
        var runId = await NewRunAsync(t.Store, "group-spill");
        transactions.Clear();

        // Eight batches of 100 params of 1,500 characters: together past the run row's 704 KiB for the document.
        List<KeyValue> Params(int w) => [.. Enumerable.Range(0, 100).Select(i => new KeyValue($"w{w}-{i}", new string((char)('a' + w), 1500)))];
        var writes = await QueuedBehindOneAsync(transactions,
            () => t.Store.LogBatchAsync(runId, Points("m", 0, 1), Params(0), []),
            Enumerable.Range(1, 7).Select(w => (Func<Task>)(() => t.Store.LogBatchAsync(runId, Points("m", w, 1), Params(w), []))));
        await Task.WhenAll(writes);

        Assert.Equal(2, transactions.Sent.Count);
        Assert.NotEmpty(await t.RunsTableKeysAsync(RunIds.ExperimentOf(runId)!, $"s:{runId}:"));
        var run = await t.Store.GetRunAsync(runId);
        Assert.Equal(800, run.Params.Count);
        Assert.All(run.Params, p => Assert.Equal(new string((char)('a' + int.Parse(p.Key[1..p.Key.IndexOf('-')], System.Globalization.CultureInfo.InvariantCulture)), 1500), p.Value));
        Assert.Equal(Enumerable.Range(0, 8).Select(s => (long)s), (await HistoryAsync(t.Store, runId, "m")).Select(m => m.Step));
    }

    [Fact]
    public async Task AGroupPastOneHundredActionsSplitsAtTheLimitAndAllLand()
    {
        var (t, transactions) = NewInstance();
        var runId = await NewRunAsync(t.Store, "group-actions");
        transactions.Clear();

        // 120 batches queued behind the first, each one history row: 2 + 120 actions would not fit one transaction.
        var writes = await QueuedBehindOneAsync(transactions,
            () => t.Store.LogBatchAsync(runId, Points("loss", 0, 1000), [], []),
            Enumerable.Range(1, 120).Select(w => (Func<Task>)(() => t.Store.LogBatchAsync(runId, Points("loss", w * 1000, 1000), [], []))));
        await Task.WhenAll(writes);

        var sent = transactions.Sent.ToList();
        Assert.InRange(sent.Count, 3, 10);
        Assert.All(sent, s => Assert.InRange(s.Actions, 3, TableStorage.MaxTransactionActions));
        Assert.Equal(TableStorage.MaxTransactionActions, sent.Max(s => s.Actions)); // filled up to the limit
        Assert.Equal(121 * 1000, (await HistoryAsync(t.Store, runId, "loss")).Count);
        Assert.Equal(120_999, (await t.Store.GetRunAsync(runId)).Metrics.Single().Step);
    }

    [Fact]
    public async Task AGroupPastTheTransactionsByteBudgetSplitsAndAllLand()
    {
        var (t, transactions) = NewInstance();
        var runId = await NewRunAsync(t.Store, "group-bytes");
        transactions.Clear();

        // Each batch: 960 keys of one point, four history rows of 240 properties (about 35 KB each by the transaction
        // estimate). 24 of them are 2 + 96 actions, within the count limit, but past the 3 MiB the estimate allows.
        List<Metric> Wide(int step) => Enumerable.Range(0, 960).Select(k => new Metric($"k{k}", step + k / 1000.0, 1_000 + step, step)).ToList();
        var writes = await QueuedBehindOneAsync(transactions,
            () => t.Store.LogBatchAsync(runId, Wide(0), [], []),
            Enumerable.Range(1, 24).Select(w => (Func<Task>)(() => t.Store.LogBatchAsync(runId, Wide(w), [], []))));
        await Task.WhenAll(writes);

        var sent = transactions.Sent.ToList();
        Assert.InRange(sent.Count, 3, 24); // grouped, and the group split
        Assert.All(sent, s => Assert.True(s.Bytes < 4 * 1024 * 1024, $"A transaction of {s.Bytes} bytes"));
        foreach (var key in new[] { "k0", "k517", "k959" })
            Assert.Equal(Enumerable.Range(0, 25).Select(s => (long)s), (await HistoryAsync(t.Store, runId, key)).Select(m => m.Step));
        var run = await t.Store.GetRunAsync(runId);
        Assert.Equal(960, run.Metrics.Count);
        Assert.All(run.Metrics, m => Assert.Equal(24, m.Step));
    }

    [Fact]
    public async Task TwoInstancesWritingOneRunLoseNothing()
    {
        var (a, _) = NewInstance();
        var runId = await NewRunAsync(a.Store, "group-two-instances");
        var (b, bTransactions) = NewInstance(prefix: a.Prefix);
        await b.Store.LogBatchAsync(runId, [], [new KeyValue("b0", "0")], []); // b caches the run row
        bTransactions.Clear();

        // b's group of seven is built on the row b committed just before; a writes in between, so the group's
        // transaction loses the ETag race (412) and b applies all seven again to the row a left.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bTransactions.Arm((1, () => release.Task), (2, () => a.Store.LogBatchAsync(runId, Points("a", 0, 999), [new KeyValue("a0", "0")], [])));
        var writes = new List<Task> { b.Store.LogBatchAsync(runId, Points("b", 0, 999), [new KeyValue("b1", "1")], []) };
        await HeldAsync(bTransactions, writes[0]);
        writes.AddRange(Enumerable.Range(2, 7).Select(w =>
            b.Store.LogBatchAsync(runId, Points("b", (w - 1) * 999, 999), [new KeyValue($"b{w}", $"{w}")], [])));
        release.SetResult();
        await Task.WhenAll(writes);
        Assert.Equal(3, bTransactions.Sent.Count); // the first; the group, refused; the group again

        // Then both instances at once, eight writers each, three rounds.
        await Task.WhenAll(new[] { a, b }.SelectMany((instance, i) => Enumerable.Range(0, 8).Select(async w =>
        {
            for (var round = 0; round < 3; round++)
                await instance.Store.LogBatchAsync(runId, Points($"both{i}", (w * 3 + round) * 999, 999), [new KeyValue($"r{i}-{w}-{round}", "x")], []);
        })));

        Assert.Equal(Enumerable.Range(0, 999).Select(s => (long)s), (await HistoryAsync(a.Store, runId, "a")).Select(m => m.Step));
        Assert.Equal(Enumerable.Range(0, 8 * 999).Select(s => (long)s), (await HistoryAsync(a.Store, runId, "b")).Select(m => m.Step));
        for (var i = 0; i < 2; i++)
            Assert.Equal(Enumerable.Range(0, 24 * 999).Select(s => (long)s), (await HistoryAsync(b.Store, runId, $"both{i}")).Select(m => m.Step));
        var run = await a.Store.GetRunAsync(runId);
        Assert.Equal(1 + 1 + 8 + 2 * 8 * 3, run.Params.Count);
        Assert.Equal(24 * 999 - 1, run.Metrics.Single(m => m.Key == "both0").Step);
    }

    /// <summary>
    /// Records every entity-group transaction the store sends (its actions and body size) and, once armed, runs a test's
    /// work just before the n-th one from then on is sent.
    /// </summary>
    private sealed class Transactions : HttpPipelinePolicy
    {
        private readonly ConcurrentDictionary<int, TaskCompletionSource> _reached = new();
        private Dictionary<int, Func<Task>> _before = [];
        private readonly ConcurrentDictionary<int, Func<Task>> _after = new();
        private int _seen;

        public ConcurrentQueue<(int Actions, long Bytes)> Sent { get; } = new();

        public void Clear() => Sent.Clear();

        public void Arm(params (int Nth, Func<Task> Work)[] before)
        {
            _seen = 0;
            _reached.Clear();
            _before = before.ToDictionary(b => b.Nth, b => b.Work);
            _after.Clear();
        }

        /// <summary>Runs <paramref name="work"/> once the n-th armed transaction has answered, before its sender sees the answer.</summary>
        public void ArmAfter(int nth, Func<Task> work) => _after[nth] = work;

        /// <summary>Completes once the n-th armed transaction is waiting for its work.</summary>
        public Task HeldAsync(int nth) => _reached.GetOrAdd(nth, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (!message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
            {
                await ProcessNextAsync(message, pipeline);
                return;
            }
            var nth = Interlocked.Increment(ref _seen);
            if (_before.TryGetValue(nth, out var work))
            {
                _reached.GetOrAdd(nth, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                await work();
            }
            var bytes = message.Request.Content!.TryComputeLength(out var length) ? length : -1;
            await ProcessNextAsync(message, pipeline);
            if (_after.TryGetValue(nth, out var after)) await after();
            // The request body can be written only once; the answer has a part per action (one for a refused one).
            Sent.Enqueue((CountOf(message.Response.Content.ToString(), "HTTP/1.1 "), bytes));
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The store calls storage asynchronously.");

        private static int CountOf(string text, string part)
        {
            var count = 0;
            for (var at = text.IndexOf(part, StringComparison.OrdinalIgnoreCase); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.OrdinalIgnoreCase))
                count++;
            return count;
        }
    }
}
