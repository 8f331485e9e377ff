namespace Tracker.Core.Lifecycle;

// The producers' one-liners (after their write committed; failures logged, see TryEnqueueAsync).
public sealed partial class LifecycleQueue
{
    public Task RunDeletedAsync(string runId, CancellationToken ct) =>
        TryEnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.RunDeleted, RunId = runId }, ct);

    public Task ExperimentDeletedAsync(string experimentId, CancellationToken ct) =>
        TryEnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.ExperimentDeleted, ExperimentId = experimentId }, ct);

    /// <summary>One message per version whose stage a write changed (the transitioned one and those it archived).</summary>
    public async Task StagesChangedAsync(string name, IEnumerable<long> versions, CancellationToken ct)
    {
        foreach (var version in versions)
            await TryEnqueueAsync(new LifecycleMessage { Kind = LifecycleMessage.VersionStageChanged, Name = name, Version = version }, ct);
    }
}
