namespace Tracker.Functions.Triggers;

/// <summary>
/// Promotion messages that failed <c>maxDequeueCount</c> times: the handler records the promotion as failed, so a
/// poisoned request does not stay "pending" forever.
/// </summary>
public static class PromoteModelPoisonTrigger
{
    public const string FunctionName = "PromoteModelPoison";
    public const string Queue = PromoteModelTrigger.Queue + "-poison";
    public static readonly QueueTrigger Definition = new(FunctionName, Queue);
}
