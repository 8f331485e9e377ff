using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The <c>experiment_deleted</c> worker (issue 10 §3): once a deleted experiment's retention has passed, each of its runs
/// is purged as <see cref="RunPurge"/> purges one (whatever the run's own lifecycle), then every file left under the
/// experiment's artifact root (its logged models' among them) and its logged models' rows, and last the experiment row
/// with its name reservation, so the name can be used again. Same rules as a run's purge: current state decides (a
/// restored experiment is left alone), bounded with follow-up messages, and what a registered version needs stays —
/// and with it the experiment row, which such a run still belongs to.
/// </summary>
public sealed partial class ExperimentPurge(
    TrackingStore tracking, RegistryStore registry, RunPurge runs, LifecycleBlobs blobs, LifecycleQueue queue,
    IOptions<LifecycleOptions> options, ILogger<ExperimentPurge> logger)
{
    private const string RunPhase = "r:";
    private const string BlobPhase = "b:";

    /// <summary>The consumer of an <c>experiment_deleted</c> message.</summary>
    public async Task HandleAsync(LifecycleMessage message, CancellationToken ct)
    {
        if (message.ExperimentId is not { } id || RunIds.CanonicalExperimentId(id) is not { } experimentId) return;
        if (await tracking.GetExperimentForPurgeAsync(experimentId, ct) is not { Lifecycle: LifecycleStage.Deleted } experiment) return;
        var due = runs.Due(experiment.DeletedTime ?? 0);
        if (due > TimeSpan.Zero)
        {
            await queue.EnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.ExperimentDeleted, ExperimentId = experimentId }, due, ct);
            return;
        }
        var (outcome, continuation) = await PurgeAsync(experimentId, message.Continuation, await RegisteredFiles.ReadAsync(registry, ct),
            new PurgeBudget(options.Value.MaxBlobsPerMessage), ct);
        if (outcome == PurgeOutcome.Continue)
            await queue.EnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.ExperimentDeleted, ExperimentId = experimentId, Continuation = continuation }, default, ct);
        LogStep(logger, experimentId, outcome);
    }

    private async Task<(PurgeOutcome Outcome, string? Continuation)> PurgeAsync(
        string experimentId, string? continuation, RegisteredFiles registered, PurgeBudget budget, CancellationToken ct)
    {
        // Anything but the two forms this worker writes (a forged message) starts over: no step is ever skipped.
        if (continuation is not null && !continuation.StartsWith(RunPhase, StringComparison.Ordinal) && !continuation.StartsWith(BlobPhase, StringComparison.Ordinal))
            continuation = null;
        // Runs in row-key order; "r:<run id>\n<the run's own continuation>" resumes at that run (the ones before it are
        // purged, or kept for a registered version).
        if (continuation is null || continuation.StartsWith(RunPhase, StringComparison.Ordinal))
        {
            var (cursor, inner) = ParseRunContinuation(continuation, experimentId);
            while (true)
            {
                var batch = await tracking.ListRunIdsAsync(experimentId, cursor, 2, ct);
                if (batch.Count == 0) break;
                // The run the continuation names may be gone (purged) by now: its own continuation goes with it.
                if (batch[0] != cursor) inner = null;
                var (outcome, runContinuation) = await runs.PurgeAsync(batch[0], inner, force: true, registered, budget, ct);
                if (outcome == PurgeOutcome.Continue) return (PurgeOutcome.Continue, $"{RunPhase}{batch[0]}\n{runContinuation}");
                if (batch.Count < 2) break;
                (cursor, inner) = (batch[1], null);
                if (budget.Spent) return (PurgeOutcome.Continue, $"{RunPhase}{cursor}\n");
            }
            continuation = BlobPhase;
        }
        if (continuation.StartsWith(BlobPhase, StringComparison.Ordinal))
        {
            var next = await runs.DeleteUnregisteredAsync($"{experimentId}/", continuation[BlobPhase.Length..], registered, budget, ct);
            if (next is not null) return (PurgeOutcome.Continue, BlobPhase + next);
        }
        foreach (var model in await tracking.ListLoggedModelsForPurgeAsync(experimentId, null, ct))
        {
            if (registered.Models.Contains(model.Id)) continue;
            // Out of budget: the follow-up walks the (now empty but for registered files) root again, then the rows left.
            if (budget.Spent) return (PurgeOutcome.Continue, BlobPhase);
            await tracking.DeleteLoggedModelRowAsync(model.Id, ct);
            budget.Spend(1);
        }
        // A run or logged model kept for a registered version still belongs to this experiment. Any other left (a
        // continuation, forged or not, can only skip) sends the purge back to its start.
        var runsLeft = await tracking.ListRunIdsAsync(experimentId, null, 1000, ct);
        var modelsLeft = await tracking.ListLoggedModelsForPurgeAsync(experimentId, null, ct);
        if (runsLeft.Any(r => !registered.Runs.Contains(r)) || modelsLeft.Any(m => !registered.Models.Contains(m.Id)))
            return (PurgeOutcome.Continue, null);
        if (runsLeft.Count > 0 || modelsLeft.Count > 0) return (PurgeOutcome.Kept, null);
        // Nothing is kept, so no file under the root is needed either: files a skipped marker left are walked again.
        if (await blobs.AnyAsync($"{experimentId}/", ct)) return (PurgeOutcome.Continue, BlobPhase);
        if (await tracking.DeleteExperimentRowsAsync(experimentId, ct)) await tracking.DeleteSearchSnapshotAsync(experimentId, ct);
        return (PurgeOutcome.Done, null);
    }

    /// <summary>The run a continuation resumes at and that run's own continuation. A forged one can name only a run of
    /// this experiment (run ids carry it); anything else starts over.</summary>
    private static (string? Run, string? Inner) ParseRunContinuation(string? continuation, string experimentId)
    {
        if (continuation is null) return (null, null);
        var rest = continuation[RunPhase.Length..];
        var newline = rest.IndexOf('\n');
        var run = newline < 0 ? rest : rest[..newline];
        var inner = newline < 0 || newline == rest.Length - 1 ? null : rest[(newline + 1)..];
        return RunIds.ExperimentOf(run) == experimentId ? (run, inner) : (null, null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purge of experiment {ExperimentId}: {Outcome}")]
    private static partial void LogStep(ILogger logger, string experimentId, PurgeOutcome outcome);
}
