namespace Tracker.Core.Storage;

/// <summary>
/// One delivery of a queue message, the same whether the Functions host invoked a trigger or the local poller received
/// it: the queue it came from, its text (already base64-decoded), how many times it has been dequeued (1 on the first
/// delivery; delivery is at least once, so handlers are idempotent) and the message id where known.
/// </summary>
public sealed record QueueMessage(string Queue, string Text, long DequeueCount, string? Id);
