using Tracker.Core.Storage;

namespace Tracker.Functions.Triggers;

/// <summary>
/// A queue-triggered function: the folder <see cref="FunctionName"/> holds its function.json (queueTrigger on
/// <see cref="Queue"/>, binding <see cref="Binding"/>); the host invokes it as <c>POST /&lt;FunctionName&gt;</c>, and
/// outside the host <see cref="LocalQueuePoller"/> polls the same queue. Both call the <see cref="Tracker.Core.Storage.IQueueHandler"/>
/// registered under the queue's name.
/// </summary>
public sealed record QueueTrigger(string FunctionName, string Queue, string Binding = "msg")
{
    /// <summary>Every queue function Tracker has; a function folder without an entry here is caught by the host tests.</summary>
    public static readonly IReadOnlyList<QueueTrigger> All =
    [
        PromoteModelTrigger.Definition, PromoteModelPoisonTrigger.Definition, LifecycleTrigger.Definition, WebhookDeliveryTrigger.Definition,
    ];

    /// <summary>Runs the message through the handler registered for <see cref="Queue"/>, in a consumer span carrying the
    /// producer's trace context: what the host's invocation and the local poller both do with a delivery.</summary>
    public async Task HandleAsync(IServiceProvider services, QueueMessage message, CancellationToken ct)
    {
        var handler = services.GetKeyedService<IQueueHandler>(Queue)
                      ?? throw new InvalidOperationException($"No IQueueHandler is registered for queue '{Queue}'.");
        using var span = QueueTrace.StartProcessing(message, FunctionName);
        await handler.HandleAsync(message, ct);
    }

    /// <summary>Where the host moves a message after <c>maxDequeueCount</c> failed deliveries.</summary>
    public static string PoisonQueueOf(string queue) => queue + "-poison";
}
