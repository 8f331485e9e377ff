namespace Tracker.Functions.Triggers;

/// <summary>Promotion requests (issue 10 §1): one message per <c>promotions/create</c>, consumed by the promotion service.</summary>
public static class PromoteModelTrigger
{
    public const string FunctionName = "PromoteModel";
    public const string Queue = "model-promotions";
    public static readonly QueueTrigger Definition = new(FunctionName, Queue);
}
