using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The cleanup timer's handler (issue 10 §4): finds what is due and enqueues the lifecycle work for it, then records
/// what it did in a summary row (<see cref="CleanupStore"/>). Due means:
/// <list type="bullet">
/// <item>a deleted experiment or run whose retention has passed (<see cref="LifecycleOptions.PurgeDue"/>) →
/// <c>experiment_deleted</c> / <c>run_deleted</c> (the runs of an experiment being purged go with it);</item>
/// <item>an archived version due for the Cool tier (<see cref="LifecycleOptions.CoolDue"/>) that does not carry
/// <see cref="LifecycleMessage.StorageTierTag"/> = Cool yet, or a version no longer archived that still does →
/// <c>version_stage_changed</c>;</item>
/// <item>each run of an experiment tagged <see cref="RetentionDaysTag"/> → <c>expire_artifacts</c> with the cutoff.</item>
/// </list>
/// It reads through the stores' own paged searches, one experiment's runs at a time, so memory stays bounded by the
/// largest experiment, not the deployment. It only enqueues: the workers read the current state again and are
/// idempotent, so a second run (or two at once: the host's singleton lock does not hold across a local and a hosted
/// instance) only sends messages that change nothing twice. A failure is recorded in the row and then thrown, so the
/// invocation fails and the host logs it.
/// </summary>
public sealed partial class CleanupService(
    TrackingStore tracking, RegistryStore registry, LifecycleQueue queue, CleanupStore store, IOptions<LifecycleOptions> options,
    TimeProvider clock, ILogger<CleanupService> logger)
{
    /// <summary>The experiment tag that sets how many days a run's artifacts are kept (a positive integer).</summary>
    public const string RetentionDaysTag = "tracker.retention_days";
    public const string TimerFunctionName = "Cleanup";
    private const int PageSize = 1000;

    public async Task RunAsync(TimerTick tick, CancellationToken ct)
    {
        var o = options.Value;
        var now = tick.UtcNow;
        var startedMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var run = new Summary(CleanupStore.NewId(startedMs));
        await store.SaveAsync(run.ToRow(startedMs, tick.IsPastDue, finishedMs: null, error: null), ct);
        try
        {
            await ExperimentsAndRunsAsync(o, now, run, ct);
            await VersionsAsync(o, now, run, ct);
        }
        catch (Exception e)
        {
            // Recorded first (with what was enqueued before it), then thrown: the row says what happened, the host logs it.
            await store.SaveAsync(run.ToRow(startedMs, tick.IsPastDue, clock.GetUtcNow().ToUnixTimeMilliseconds(),
                $"{e.GetType().Name}: {Echo.Truncate(e.Message)}"), CancellationToken.None);
            throw;
        }
        await store.SaveAsync(run.ToRow(startedMs, tick.IsPastDue, clock.GetUtcNow().ToUnixTimeMilliseconds(), error: null), ct);
        LogDone(logger, run.Id, run.Enqueued.GetValueOrDefault(LifecycleMessage.RunDeleted), run.Enqueued.GetValueOrDefault(LifecycleMessage.ExperimentDeleted),
            run.Enqueued.GetValueOrDefault(LifecycleMessage.VersionStageChanged), run.Enqueued.GetValueOrDefault(LifecycleMessage.ExpireArtifacts), run.SkippedCount);
    }

    private async Task ExperimentsAndRunsAsync(LifecycleOptions o, DateTimeOffset now, Summary run, CancellationToken ct)
    {
        string? token = null;
        do
        {
            var page = await tracking.SearchExperimentsAsync(ViewType.All, PageSize, null, [], token, ct);
            foreach (var experiment in page.Items)
            {
                if (experiment.LifecycleStage == LifecycleStage.Deleted && experiment.DeletedTime is { } deleted && o.PurgeDue(deleted, now))
                {
                    // Purging the experiment purges its runs: no message per run.
                    await EnqueueAsync(run, new LifecycleMessage { Kind = LifecycleMessage.ExperimentDeleted, ExperimentId = experiment.ExperimentId }, ct);
                    continue;
                }
                await DeletedRunsAsync(o, now, experiment, run, ct);
                await RetentionAsync(now, experiment, run, ct);
            }
            token = page.NextPageToken;
        } while (token is not null);
    }

    private async Task DeletedRunsAsync(LifecycleOptions o, DateTimeOffset now, Experiment experiment, Summary run, CancellationToken ct)
    {
        await foreach (var r in RunsAsync(experiment.ExperimentId, ViewType.DeletedOnly, ct))
        {
            if (r.Info.DeletedTime is { } deleted && o.PurgeDue(deleted, now))
                await EnqueueAsync(run, new LifecycleMessage { Kind = LifecycleMessage.RunDeleted, RunId = r.Info.RunId, ExperimentId = r.Info.ExperimentId }, ct);
        }
    }

    private async Task RetentionAsync(DateTimeOffset now, Experiment experiment, Summary run, CancellationToken ct)
    {
        if (experiment.Tags.LastOrDefault(t => t.Key == RetentionDaysTag) is not { } tag) return;
        if (!int.TryParse(tag.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days < 1 || days > 36500)
        {
            run.Skip($"experiment {experiment.ExperimentId}",
                $"{RetentionDaysTag} '{Echo.Truncate(tag.Value)}' is not a positive whole number of days (at most 36500)");
            return;
        }
        var cutoff = now.ToUnixTimeMilliseconds() - (long)TimeSpan.FromDays(days).TotalMilliseconds;
        // Deleted runs too: until purged they can be restored, and their old artifacts are just as old.
        await foreach (var r in RunsAsync(experiment.ExperimentId, ViewType.All, ct))
        {
            await EnqueueAsync(run, new LifecycleMessage
            {
                Kind = LifecycleMessage.ExpireArtifacts, RunId = r.Info.RunId, ExperimentId = r.Info.ExperimentId, CutoffMs = cutoff,
            }, ct);
        }
    }

    private async IAsyncEnumerable<Run> RunsAsync(string experimentId, ViewType view, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            var page = await tracking.SearchRunsAsync([experimentId], null, view, PageSize, [], token, ct);
            foreach (var r in page.Items) yield return r;
            token = page.NextPageToken;
        } while (token is not null);
    }

    private async Task VersionsAsync(LifecycleOptions o, DateTimeOffset now, Summary run, CancellationToken ct)
    {
        string? token = null;
        do
        {
            var page = await registry.SearchModelVersionsAsync(null, PageSize, [], token, ct: ct);
            foreach (var version in page.Items)
            {
                var cool = version.Tags.Any(t => t.Key == LifecycleMessage.StorageTierTag && t.Value == "Cool");
                var archived = version.CurrentStage == ModelStages.Archived;
                // A version counts as archived since its last update (LifecycleMessage.StorageTierTag).
                if (archived ? !cool && o.CoolDue(version.LastUpdatedTimestamp, now) : cool)
                    await EnqueueAsync(run, new LifecycleMessage { Kind = LifecycleMessage.VersionStageChanged, Name = version.Name, Version = version.Version }, ct);
            }
            token = page.NextPageToken;
        } while (token is not null);
    }

    private async Task EnqueueAsync(Summary run, LifecycleMessage message, CancellationToken ct)
    {
        await queue.EnqueueAsync(message, default, ct);
        run.Count(message.Kind);
    }

    /// <summary>The row being built up as the run goes.</summary>
    private sealed class Summary(string id)
    {
        public string Id { get; } = id;
        public Dictionary<string, int> Enqueued { get; } = new(StringComparer.Ordinal);
        public List<CleanupSkip> Skipped { get; } = [];
        public int SkippedCount { get; private set; }

        public void Count(string kind) => Enqueued[kind] = Enqueued.GetValueOrDefault(kind) + 1;

        public void Skip(string item, string reason)
        {
            if (Skipped.Count < CleanupRun.MaxSkippedKept) Skipped.Add(new CleanupSkip(item, reason));
            SkippedCount++;
        }

        public CleanupRun ToRow(long startedMs, bool isPastDue, long? finishedMs, string? error) => new()
        {
            Id = Id, StartedMs = startedMs, FinishedMs = finishedMs, IsPastDue = isPastDue,
            Enqueued = new Dictionary<string, int>(Enqueued, StringComparer.Ordinal), Skipped = [.. Skipped], SkippedCount = SkippedCount, Error = error,
        };
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Cleanup {CleanupId} enqueued {Runs} run purges, {Experiments} experiment purges, {Versions} tier changes and {Expiries} artifact expiries; skipped {Skipped}.")]
    private static partial void LogDone(ILogger logger, string cleanupId, int runs, int experiments, int versions, int expiries, int skipped);
}
