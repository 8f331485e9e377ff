using Microsoft.Extensions.Logging;
using Tracker.Core.Storage;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The consumer of <see cref="LifecycleQueue.QueueName"/> (the <c>Lifecycle</c> queue function, or the local poller):
/// reads the message and hands it to the worker for its kind. A message that is not a lifecycle message is dropped with
/// a warning; a storage failure is thrown so the queue delivers it again.
/// </summary>
public sealed partial class LifecycleService(
    RunPurge runPurge, ExperimentPurge experimentPurge, VersionTiering tiering, ArtifactExpiry artifactExpiry, ILogger<LifecycleService> logger)
{
    public async Task HandleAsync(QueueMessage delivery, CancellationToken ct)
    {
        if (LifecycleMessage.Parse(delivery.Text) is not { } message)
        {
            LogDropped(logger, delivery.Id);
            return;
        }
        switch (message.Kind)
        {
            case LifecycleMessage.RunDeleted:
                await runPurge.HandleAsync(message, ct);
                return;
            case LifecycleMessage.ExperimentDeleted:
                await experimentPurge.HandleAsync(message, ct);
                return;
            case LifecycleMessage.VersionStageChanged:
                await tiering.HandleAsync(message, ct);
                return;
            case LifecycleMessage.ExpireArtifacts:
                await artifactExpiry.HandleAsync(message, ct);
                break;
        }
        await Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle message {MessageId} is not one Tracker wrote; dropped.")]
    private static partial void LogDropped(ILogger logger, string? messageId);
}
