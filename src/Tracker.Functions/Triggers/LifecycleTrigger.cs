using Tracker.Core.Lifecycle;

namespace Tracker.Functions.Triggers;

/// <summary>Archive lifecycle and purges (issue 10 §3): messages from deletes, stage changes, the cleanup timer and the
/// workers' own follow-ups, consumed by <see cref="LifecycleService"/>.</summary>
public static class LifecycleTrigger
{
    public const string FunctionName = "Lifecycle";
    public const string Queue = LifecycleQueue.QueueName;
    public static readonly QueueTrigger Definition = new(FunctionName, Queue);
}
