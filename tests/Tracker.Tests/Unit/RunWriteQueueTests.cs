using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

/// <summary>
/// The queue's turns and cancellation, with commits the test holds and releases (no storage, no timing): a group's
/// commit goes on while any of its callers still waits, and stops once all have gone.
/// </summary>
public class RunWriteQueueTests
{
    private sealed class Turn
    {
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource<(IReadOnlyList<string> Changes, CancellationToken Token)> Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Each turn waits for its release, then succeeds every write it took unless its token was cancelled.</summary>
    private static Func<IReadOnlyList<RunWriteQueue<string, string>.Write>, CancellationToken, Task> Commit(Queue<Turn> turns) =>
        async (writes, token) =>
        {
            var turn = turns.Dequeue();
            turn.Started.SetResult(([.. writes.Select(w => w.Change)], token));
            await turn.Release.Task;
            token.ThrowIfCancellationRequested();
            foreach (var w in writes) w.Succeed("written " + w.Change);
        };

    [Fact]
    public async Task AGroupIsCommittedForItsOtherCallersWhenTheTurnHolderGoes()
    {
        var queue = new RunWriteQueue<string, string>();
        Queue<Turn> turns = new([new Turn(), new Turn()]);
        var (first, second) = (turns.ElementAt(0), turns.ElementAt(1));
        var commit = Commit(turns);
        using var holderGone = new CancellationTokenSource();

        var a = queue.RunAsync("run", "a", commit, CancellationToken.None);
        await first.Started.Task; // a's turn is in flight: b and c queue behind it
        var b = queue.RunAsync("run", "b", commit, holderGone.Token);
        var c = queue.RunAsync("run", "c", commit, CancellationToken.None);
        first.Release.SetResult();
        Assert.Equal("written a", await a);

        var (changes, token) = await second.Started.Task; // b holds the turn and commits b and c together
        Assert.Equal(["b", "c"], changes);
        await holderGone.CancelAsync();
        Assert.False(token.IsCancellationRequested, "c still waits, so the group's commit must go on");
        second.Release.SetResult();
        Assert.Equal("written c", await c);
        Assert.Equal("written b", await b);
    }

    [Fact]
    public async Task AGroupsCommitStopsOnceEveryCallerHasGone()
    {
        var queue = new RunWriteQueue<string, string>();
        Queue<Turn> turns = new([new Turn(), new Turn()]);
        var (first, second) = (turns.ElementAt(0), turns.ElementAt(1));
        var commit = Commit(turns);
        using var bGone = new CancellationTokenSource();
        using var cGone = new CancellationTokenSource();

        var a = queue.RunAsync("run", "a", commit, CancellationToken.None);
        await first.Started.Task;
        var b = queue.RunAsync("run", "b", commit, bGone.Token);
        var c = queue.RunAsync("run", "c", commit, cGone.Token);
        first.Release.SetResult();
        await a;

        var (_, token) = await second.Started.Task;
        await bGone.CancelAsync();
        Assert.False(token.IsCancellationRequested);
        await cGone.CancelAsync();
        Assert.True(token.IsCancellationRequested);
        second.Release.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => c);

        // The run's queue is free again.
        var d = queue.RunAsync("run", "d", async (writes, _) =>
        {
            await Task.Yield();
            foreach (var w in writes) w.Succeed("written " + w.Change);
        }, CancellationToken.None);
        Assert.Equal("written d", await d);
    }
}
