using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The <c>run_deleted</c> worker (issue 10 §3): once a deleted run's retention has passed, it is purged permanently —
/// what <c>mlflow gc</c> does (the run's artifacts, then its rows: params, tags, metrics) plus what gc misses: the
/// logged models the run created (their rows and files; gc 3.x only hard-deletes models deleted on their own) and every
/// row Tracker keeps for a run (metric history rows in <c>{prefix}metrics</c>, spill rows, the run row).
///
/// It reads the current state and reconciles, so it is idempotent, order-independent and harmless for a forged message:
/// a run that is not deleted (never was, or was restored) is left alone; one not yet due is looked at again when it is
/// (a chain of delayed messages, the queue delaying at most seven days). Bounded: at most
/// <see cref="LifecycleOptions.MaxBlobsPerMessage"/> deletions per invocation, the rest in a follow-up message with a
/// continuation. Order: blobs, logged-model rows, history and spill rows, and the run row last (replaced by its
/// tombstone, see TrackingStore.Purge), so a purge that stops half-way is found again by the cleanup timer.
///
/// Files that back a registered model version (any stage) are never deleted, and a run a live version names keeps its
/// row and history too (MLflow's client resolves a <c>runs:/</c> source through runs/get, and the promotion gate reads
/// the run's metrics): the run stays deleted, and its purge completes once no live version needs it.
/// </summary>
public sealed partial class RunPurge(
    TrackingStore tracking, RegistryStore registry, LifecycleBlobs blobs, LifecycleQueue queue, IOptions<LifecycleOptions> options,
    TimeProvider time, ILogger<RunPurge> logger)
{
    private const string BlobPhase = "b:";
    private const string RowPhase = "r";

    /// <summary>The consumer of a <c>run_deleted</c> message.</summary>
    public async Task HandleAsync(LifecycleMessage message, CancellationToken ct)
    {
        if (message.RunId is not { } runId || RunIds.ExperimentOf(runId) is null) return;
        if (await tracking.GetRunForPurgeAsync(runId, ct) is not { Lifecycle: LifecycleStage.Deleted } run) return;
        var due = Due(run.DeletedTime ?? 0);
        if (due > TimeSpan.Zero)
        {
            await queue.EnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.RunDeleted, RunId = runId }, due, ct);
            return;
        }
        var budget = new PurgeBudget(options.Value.MaxBlobsPerMessage);
        var (outcome, continuation) = await PurgeAsync(runId, message.Continuation, force: false,
            await RegisteredFiles.ReadAsync(registry, ct), budget, ct);
        if (outcome == PurgeOutcome.Continue)
            await queue.EnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.RunDeleted, RunId = runId, Continuation = continuation }, default, ct);
        LogStep(logger, runId, outcome);
    }

    /// <summary>How long until something deleted at <paramref name="deletedTimeMs"/> is due; zero or less when it is.</summary>
    internal TimeSpan Due(long deletedTimeMs)
    {
        var now = time.GetUtcNow();
        return options.Value.PurgeDue(deletedTimeMs, now)
            ? TimeSpan.Zero
            : DateTimeOffset.FromUnixTimeMilliseconds(deletedTimeMs) + TimeSpan.FromDays(options.Value.DeletedRetentionDays) - now;
    }

    /// <summary>
    /// One bounded share of a run's purge, from <paramref name="continuation"/> (null: the start). With
    /// <paramref name="force"/> (its experiment is being purged) the run goes whatever its own lifecycle, and its logged
    /// models are left to the experiment's purge, which takes all of the experiment's at once.
    /// </summary>
    public async Task<(PurgeOutcome Outcome, string? Continuation)> PurgeAsync(
        string runId, string? continuation, bool force, RegisteredFiles registered, PurgeBudget budget, CancellationToken ct)
    {
        var experimentId = RunIds.ExperimentOf(runId)!;
        var models = force ? [] : (await tracking.ListLoggedModelsForPurgeAsync(experimentId, runId, ct)).Select(m => m.Id).ToList();
        // Each owner's directory in turn: the run's own, then each of its logged models'.
        var owners = new List<(string Owner, string Prefix)> { (runId, $"{experimentId}/{runId}/") };
        owners.AddRange(models.Select(m => (m, $"{experimentId}/models/{m}/")));

        // Every continuation (a forged one too) goes through the files first: in the row phase they are gone already and
        // cost one listing each.
        var (from, marker) = ParseBlobContinuation(continuation, owners.Select(o => o.Owner).ToList());
        for (var i = from; i < owners.Count; i++, marker = null)
        {
            var next = await DeleteUnregisteredAsync(owners[i].Prefix, marker, registered, budget, ct);
            if (next is not null) return (PurgeOutcome.Continue, $"{BlobPhase}{owners[i].Owner}:{next}");
            if (budget.Spent && i + 1 < owners.Count) return (PurgeOutcome.Continue, $"{BlobPhase}{owners[i + 1].Owner}:");
        }
        // Nothing's row goes while files of it that no version needs remain: a continuation's listing marker (a forged
        // one too) can only skip files, so a directory no version needs must be empty by now, or it is walked again.
        foreach (var (owner, prefix) in owners)
        {
            var needed = owner == runId ? registered.Runs.Contains(runId) : registered.Models.Contains(owner);
            if (!needed && await blobs.AnyAsync(prefix, ct)) return (PurgeOutcome.Continue, $"{BlobPhase}{owner}:");
        }
        foreach (var model in models.Where(m => !registered.Models.Contains(m)))
        {
            // Out of budget: the follow-up walks the (now empty) directories again and goes on with the rows left.
            if (budget.Spent) return (PurgeOutcome.Continue, $"{BlobPhase}{runId}:");
            await tracking.DeleteLoggedModelRowAsync(model, ct);
            budget.Spend(1);
        }
        if (registered.Runs.Contains(runId)) return (PurgeOutcome.Kept, null);
        if (budget.Spent) return (PurgeOutcome.Continue, RowPhase);
        var rows = budget.Left;
        var deleted = await tracking.DeleteRunDataRowsAsync(runId, rows, ct);
        budget.Spend(deleted);
        if (deleted >= rows) return (PurgeOutcome.Continue, RowPhase);
        // Last: a purge that stopped before this is found again (the run is still an ordinary deleted run).
        await tracking.TombstoneRunAsync(runId, anyLifecycle: force, ct);
        return (PurgeOutcome.Done, null);
    }

    /// <summary>Deletes the blobs under <paramref name="prefix"/> that no registered version needs, within the budget;
    /// returns the marker to go on from, or null when the directory is done.</summary>
    internal async Task<string?> DeleteUnregisteredAsync(string prefix, string? marker, RegisteredFiles registered, PurgeBudget budget, CancellationToken ct)
    {
        if (budget.Spent) return marker ?? "";
        var (listed, next) = await blobs.WalkAsync(prefix, marker, budget.Left, async (blob, token) =>
        {
            if (!registered.Covers(blob.Name))
                await StorageErrors.Call(() => blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: token));
        }, ct);
        budget.Spend(listed);
        return next;
    }

    /// <summary>Where a blob-phase continuation resumes: the owner it names (an unknown one, as a forged message may
    /// carry, starts over) and the listing marker within that owner's directory.</summary>
    private static (int From, string? Marker) ParseBlobContinuation(string? continuation, List<string> owners)
    {
        if (continuation is null || !continuation.StartsWith(BlobPhase, StringComparison.Ordinal)) return (0, null);
        var rest = continuation[BlobPhase.Length..];
        var colon = rest.IndexOf(':');
        if (colon < 0) return (0, null);
        var index = owners.IndexOf(rest[..colon]);
        return index < 0 ? (0, null) : (index, rest[(colon + 1)..]);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purge of run {RunId}: {Outcome}")]
    private static partial void LogStep(ILogger logger, string runId, PurgeOutcome outcome);
}
