using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The writing side of the change feed (issue 11 item 1, <see cref="ChangeFeed"/>): rows keyed by storage's clock
/// whatever the instance's, a second row for a write that answered late, and change rows for exactly the runs a write
/// changed.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ChangeFeedWriteTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ChangeRowsAreKeyedByStoragesClockWhenTheInstancesIsTenMinutesBehind()
    {
        var behind = new OffsetTime(TimeSpan.FromMinutes(-10));
        var t = new TrackingInstance(azurite, time: behind);
        var start = DateTimeOffset.UtcNow; // Azurite runs on this machine: storage's clock is this one
        var experimentId = await t.Store.CreateExperimentAsync("skewed", []);
        var seen = new HashSet<string>();
        async Task<int> NewChangesOfRunAsync(string runId) =>
            (await t.ChangesAsync(experimentId)).Count(c => c.RunId == runId && seen.Add(c.Key));
        // Each write sets the run's change row of its second anew (one more row when it answered late).
        var runId = (await t.Store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId;
        Assert.True(await NewChangesOfRunAsync(runId) >= 1, "create");
        await t.Store.LogBatchAsync(runId, [new Metric("m", 1, 1, 0)], [], []);
        Assert.True(await NewChangesOfRunAsync(runId) >= 1, "log-batch");
        await t.Store.UpdateRunAsync(runId, "FINISHED", 2, null);
        Assert.True(await NewChangesOfRunAsync(runId) >= 1, "update");
        var end = DateTimeOffset.UtcNow;

        // The estimate may lag storage by ChangeFeed's StorageClock.MaxLag (Date has whole seconds), never lead it, and a
        // key has the time down to its second.
        var changes = await t.ChangesAsync(experimentId);
        Assert.All(changes, c => Assert.InRange(c.At, start - StorageClock.MaxLag - ChangeFeed.KeyResolution - TimeSpan.FromSeconds(1), end + TimeSpan.FromSeconds(1)));
        // Writes within the same second share the run's row: at most one row per second the writes spanned.
        Assert.InRange(changes.Count(c => c.RunId == runId), 1, (int)Math.Ceiling((end - start).TotalSeconds) + 1);
    }

    /// <summary>
    /// A write that answered later than LateAfter adds a change row keyed afresh; that row is a write like any other, so
    /// if it answers late too, a reader may have read past its key before it became visible, and one more follows.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AWriteThatAnswersLateAddsChangeRowsUntilOneAnswersInTime(int lateTransactions)
    {
        var time = new SteppedTime();
        var slow = new SlowTransaction(time, ChangeFeed.LateAfter + TimeSpan.FromSeconds(1));
        var t = new TrackingInstance(azurite, time: time, policy: slow);
        var experimentId = await t.Store.CreateExperimentAsync("late", []);
        var runId = (await t.Store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId;
        async Task<List<(DateTimeOffset At, string RunId, string Key)>> ChangesOfRunAsync() =>
            [.. (await t.ChangesAsync(experimentId)).Where(c => c.RunId == runId)];
        var before = (await ChangesOfRunAsync()).Select(c => c.Key).ToHashSet();

        slow.Arm(lateTransactions); // each takes "3 s" between drawing its key and its answer
        await t.Store.LogBatchAsync(runId, [new Metric("m", 2, 2, 1)], [], []);
        // The write's own row, then one per late transaction, each keyed after the write before it answered.
        var changes = (await ChangesOfRunAsync()).Where(c => !before.Contains(c.Key)).ToList();
        Assert.Equal(1 + lateTransactions, changes.Count);
        for (var i = 1; i < changes.Count; i++)
            Assert.True(changes[i].At >= changes[i - 1].At + ChangeFeed.LateAfter, "Each added row is keyed afresh, after the write before it answered.");
    }

    /// <summary>
    /// Writes of a run within one second of storage time share its change row: each sets it again under a new write id,
    /// so a reader that applied the row once still sees every later write (with RowKey alone as what it applied, it would
    /// skip them).
    /// </summary>
    [Fact]
    public async Task WritesOfARunWithinASecondShareItsChangeRowAndAReaderSeesEachOfThem()
    {
        var writer = new TrackingInstance(azurite);
        var reader = new TrackingInstance(azurite, prefix: writer.Prefix);
        var experimentId = await writer.Store.CreateExperimentAsync("same-second", []);
        var runId = (await writer.Store.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId;
        var replaced = 0;
        // A write, a search, a write: tens of milliseconds apart, so most pairs fall in the same second.
        for (var value = 1; value <= 20 && (replaced == 0 || value <= 4); value++)
        {
            var rowsBefore = (await writer.ChangesAsync(experimentId)).Count;
            await writer.Store.LogBatchAsync(runId, [], [], [new KeyValue("v", value.ToString(CultureInfo.InvariantCulture))]);
            if ((await writer.ChangesAsync(experimentId)).Count == rowsBefore) replaced++;
            var found = await reader.Store.SearchRunsAsync([experimentId], $"tags.v = '{value}'", ViewType.All, 10, [], null);
            Assert.Equal(runId, Assert.Single(found.Items).Info.RunId);
        }
        Assert.True(replaced > 0, "No write set the run's row of an earlier write again.");
    }

    [Fact]
    public async Task EachKindOfRunWriteAddsChangeRowsForExactlyTheRunsItChanged()
    {
        var t = new TrackingInstance(azurite);
        var store = t.Store;
        var first = await store.CreateExperimentAsync("changes-1", []);
        var second = await store.CreateExperimentAsync("changes-2", []);
        var a = (await store.CreateRunAsync(first, "u", null, 1, [])).Info.RunId;
        var b = (await store.CreateRunAsync(first, "u", null, 1, [])).Info.RunId;
        var other = (await store.CreateRunAsync(second, "u", null, 1, [])).Info.RunId;

        async Task<string[]> ChangedAsync(Func<Task> write)
        {
            var before = (await t.ChangesAsync(first)).Concat(await t.ChangesAsync(second)).Select(c => c.Key).ToHashSet();
            await write();
            return (await t.ChangesAsync(first)).Concat(await t.ChangesAsync(second))
                .Where(c => !before.Contains(c.Key)).Select(c => c.RunId).Distinct().Order().ToArray();
        }
        string[] Runs(params string[] ids) => [.. ids.Order()];

        var created = "";
        var onCreate = await ChangedAsync(async () => created = (await store.CreateRunAsync(first, "u", null, 1, [])).Info.RunId);
        Assert.Equal(Runs(created), onCreate);
        Assert.Equal(Runs(a), await ChangedAsync(() => store.UpdateRunAsync(a, "FINISHED", 5, "renamed")));
        Assert.Equal(Runs(a), await ChangedAsync(() => store.LogBatchAsync(a, [new Metric("m", 1, 1, 0)], [], [])));
        Assert.Equal(Runs(a), await ChangedAsync(() => store.LogBatchAsync(a,
            Enumerable.Range(0, 1000).Select(s => new Metric("m", s, s, s)).ToList(), [], [])));
        Assert.Equal(Runs(b), await ChangedAsync(() => store.LogBatchAsync(b, [], [new KeyValue("p", "1")], [], singleParamCall: true)));
        Assert.Equal(Runs(b), await ChangedAsync(() => store.LogBatchAsync(b, [], [], [new KeyValue("t", "1")])));
        Assert.Equal(Runs(b), await ChangedAsync(() => store.DeleteTagAsync(b, "t")));
        Assert.Equal(Runs(other), await ChangedAsync(() => store.LogBatchAsync(other, [], [], [new KeyValue("t", "1")])));

        Assert.Equal(Runs(created), await ChangedAsync(() => store.DeleteRunAsync(created)));
        Assert.Empty(await ChangedAsync(() => store.DeleteRunAsync(created))); // already deleted: nothing written
        Assert.Equal(Runs(created), await ChangedAsync(() => store.RestoreRunAsync(created)));
        Assert.Equal(Runs(created), await ChangedAsync(() => store.DeleteRunAsync(created)));

        // The cascade marks the experiment's runs that were not deleted yet; restoring brings every deleted one back.
        Assert.Equal(Runs(a, b), await ChangedAsync(() => store.DeleteExperimentAsync(first)));
        Assert.Equal(Runs(a, b, created), await ChangedAsync(() => store.RestoreExperimentAsync(first)));

        // Purge: the history and spill rows are not the run row; the tombstone is.
        await store.DeleteRunAsync(b);
        Assert.Empty(await ChangedAsync(() => store.DeleteRunDataRowsAsync(b, 1000)));
        Assert.Equal(Runs(b), await ChangedAsync(() => store.TombstoneRunAsync(b)));
        Assert.Empty(await ChangedAsync(() => store.TombstoneRunAsync(b))); // purged already
    }

    /// <summary>The system clock shifted by a fixed offset (an instance whose clock is wrong).</summary>
    private sealed class OffsetTime(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }

    /// <summary>The system's time, which the test can make jump forward (the monotonic timestamp and the clock alike, as
    /// when that much time passes).</summary>
    private sealed class SteppedTime : TimeProvider
    {
        private long _jumpTicks;

        public override long GetTimestamp() => System.GetTimestamp() + (long)(TimeSpan.FromTicks(Interlocked.Read(ref _jumpTicks)).TotalSeconds * TimestampFrequency);

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _jumpTicks));

        public void Jump(TimeSpan by) => Interlocked.Add(ref _jumpTicks, by.Ticks);
    }

    /// <summary>Once armed, makes the next entity-group transactions take <paramref name="by"/> as the store measures
    /// it (its time jumps while the request is on its way): writes that answered late.</summary>
    private sealed class SlowTransaction(SteppedTime time, TimeSpan by) : HttpPipelineSynchronousPolicy
    {
        private int _armed;

        public void Arm(int transactions = 1) => Volatile.Write(ref _armed, transactions);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (!message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal)) return;
            int armed;
            do armed = Volatile.Read(ref _armed);
            while (armed > 0 && Interlocked.CompareExchange(ref _armed, armed - 1, armed) != armed);
            if (armed > 0) time.Jump(by);
        }
    }
}
