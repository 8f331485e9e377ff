namespace Tracker.Core.Storage;

/// <summary>One queue message as a trigger (the Functions host, or the local poller) delivers it: the queue it came
/// from, its decoded text, how many times it has been dequeued, and its id.</summary>
public sealed record QueueMessage(string Queue, string Text, long DequeueCount, string? Id);
