namespace Tracker.Core.Storage;

/// <summary>
/// Writes to one run within this instance, in arrival order, taking turns so that each turn commits every write that
/// queued meanwhile (group commit). Writers to one run used to take strictly one round trip each: with 8 writers
/// logging to one run, 7 waited for every entity-group transaction. The run row is one entity, so its writes are
/// serial anyway; what a group saves is the round trips (issue 11's throughput goal for many writers on one run).
/// Taking turns inside an instance also spares the ETag races (each lost race costs storage requests); the ETag still
/// arbitrates between instances.
///
/// The queue only orders: whoever holds a run's turn takes its waiting writes (<see cref="Take"/>), commits as many as
/// fit one transaction, settles each one's outcome, and hands the turn on (<see cref="EndTurn"/>), the unsettled writes
/// back at the front, to the oldest waiting write's caller. A caller whose write was settled in another's turn just
/// returns its outcome.
/// </summary>
internal sealed class RunWriteQueue<TChange, TResult>
{
    /// <summary>One caller's write and its outcome.</summary>
    public sealed class Write(TChange change)
    {
        private readonly TaskCompletionSource<TResult> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TChange Change { get; } = change;

        public bool IsSettled => _outcome.Task.IsCompleted;

        public void Succeed(TResult result) => _outcome.TrySetResult(result);

        public void Fail(Exception error) => _outcome.TrySetException(error);

        internal Task<TResult> Outcome => _outcome.Task;

        /// <summary>True when its caller's turn has come; false once it was settled in another caller's turn.</summary>
        internal TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A run whose turn is held, and its writes: waiting (in arrival order) and taken by the turn's holder.</summary>
    private sealed class Run
    {
        public readonly List<Write> Waiting = [];
        public List<Write> Taken = [];
    }

    private readonly Dictionary<string, Run> _runs = new(StringComparer.Ordinal);

    /// <summary>
    /// Queues <paramref name="change"/> for <paramref name="runId"/> and returns its outcome: settled in another caller's
    /// turn, or in this caller's own by <paramref name="commit"/>, which gets the run's waiting writes in arrival order
    /// (this caller's first) and must settle a prefix of them, at least the first; the rest wait for the next turn. A
    /// write still waiting when <paramref name="ct"/> is cancelled leaves the queue unwritten; one already taken into a
    /// group is no longer waited for, and is written or not like any write whose caller went away.
    /// </summary>
    public async Task<TResult> RunAsync(
        string runId, TChange change, Func<IReadOnlyList<Write>, CancellationToken, Task> commit, CancellationToken ct)
    {
        var write = new Write(change);
        lock (_runs)
        {
            if (_runs.TryGetValue(runId, out var run)) run.Waiting.Add(write);
            else
            {
                _runs[runId] = run = new Run();
                run.Waiting.Add(write);
                write.Turn.SetResult(true);
            }
        }

        bool mine;
        try
        {
            mine = await write.Turn.Task.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            Leave(runId, write);
            throw;
        }
        if (!mine) return await write.Outcome;

        var taken = Take(runId);
        try
        {
            await commit(taken, ct);
        }
        catch (Exception e)
        {
            // What the commit did not settle before it failed shares its failure (a transient storage error, a
            // cancellation): none of it was written.
            foreach (var w in taken) w.Fail(e);
        }
        finally
        {
            // The turn passes to the oldest unsettled write, so this caller's own must not stay unsettled.
            if (!write.IsSettled) write.Fail(new InvalidOperationException("A run write's turn ended without settling it."));
            EndTurn(runId);
        }
        return await write.Outcome;
    }

    /// <summary>The run's waiting writes, for the turn's holder.</summary>
    private List<Write> Take(string runId)
    {
        lock (_runs)
        {
            var run = _runs[runId];
            run.Taken = [.. run.Waiting];
            run.Waiting.Clear();
            return run.Taken;
        }
    }

    /// <summary>Wakes the callers whose writes were settled, puts the unsettled ones back at the front, and gives the
    /// turn to the oldest waiting write's caller (or frees the run).</summary>
    private void EndTurn(string runId)
    {
        lock (_runs)
        {
            var run = _runs[runId];
            var unsettled = run.Taken.Where(w => !w.IsSettled).ToList();
            foreach (var w in run.Taken.Where(w => w.IsSettled)) w.Turn.TrySetResult(false);
            run.Taken = [];
            run.Waiting.InsertRange(0, unsettled);
            PassTurn(runId, run);
        }
    }

    /// <summary>A caller that stops waiting: its write leaves the queue if still there; a turn it was given goes on.</summary>
    private void Leave(string runId, Write write)
    {
        lock (_runs)
        {
            if (!_runs.TryGetValue(runId, out var run) || !run.Waiting.Remove(write)) return; // taken: settled by the group
            if (write.Turn.Task is { IsCompletedSuccessfully: true, Result: true }) PassTurn(runId, run);
        }
    }

    private void PassTurn(string runId, Run run)
    {
        if (run.Waiting.Count > 0) run.Waiting[0].Turn.TrySetResult(true);
        else _runs.Remove(runId);
    }
}
