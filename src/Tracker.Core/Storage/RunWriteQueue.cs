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
    public sealed class Write(TChange change, CancellationToken callerGone)
    {
        private readonly TaskCompletionSource<TResult> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TChange Change { get; } = change;

        /// <summary>Cancelled when the caller stops waiting for its outcome.</summary>
        public CancellationToken CallerGone { get; } = callerGone;

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
    /// group is no longer waited for, and is written or not like any write whose caller went away. The commit's token is
    /// cancelled only once every caller in the group has gone: one caller's disconnect or time budget does not fail the
    /// writes it happens to carry for others.
    /// </summary>
    public async Task<TResult> RunAsync(
        string runId, TChange change, Func<IReadOnlyList<Write>, CancellationToken, Task> commit, CancellationToken ct)
    {
        var write = new Write(change, ct);
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
        using var groupGone = new WhenAllGone(taken);
        try
        {
            await commit(taken, groupGone.Token);
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

    /// <summary>A token cancelled once every one of the writes' callers has gone.</summary>
    private sealed class WhenAllGone : IDisposable
    {
        private readonly CancellationTokenSource _all = new();
        private readonly List<CancellationTokenRegistration> _registrations = [];
        private int _remaining;

        public WhenAllGone(IReadOnlyList<Write> writes)
        {
            _remaining = writes.Count;
            foreach (var w in writes) _registrations.Add(w.CallerGone.Register(OneGone));
        }

        public CancellationToken Token => _all.Token;

        private void OneGone()
        {
            if (Interlocked.Decrement(ref _remaining) == 0) _all.Cancel();
        }

        public void Dispose()
        {
            // Unregistered first (waiting for a callback under way), so no caller's cancellation reaches a disposed source.
            foreach (var registration in _registrations) registration.Dispose();
            _all.Dispose();
        }
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
