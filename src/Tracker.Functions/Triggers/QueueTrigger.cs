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

    /// <summary>Where the host moves a message after <c>maxDequeueCount</c> failed deliveries.</summary>
    public static string PoisonQueueOf(string queue) => queue + "-poison";
}
