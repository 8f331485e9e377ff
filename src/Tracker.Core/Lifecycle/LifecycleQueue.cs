using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The producer side of the lifecycle queue. Producers enqueue after their own write has committed; a message lost to a
/// storage failure there is not lost work, because the cleanup timer finds everything that is due by itself.
/// </summary>
public sealed partial class LifecycleQueue
{
    public const string QueueName = "lifecycle";
    /// <summary>Storage Queues hide a message for at most seven days; a longer wait is a chain of messages.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7);

    private readonly QueueClient _queue;
    private readonly ILogger<LifecycleQueue> _logger;
    private readonly OnceUntilSuccess _created;

    public LifecycleQueue(QueueServiceClient queues, IOptions<StorageOptions> storage, ILogger<LifecycleQueue> logger)
    {
        _queue = queues.GetQueueClient(storage.Value.QueueName(QueueName));
        _logger = logger;
        _created = new OnceUntilSuccess(() => StorageErrors.Call(() => _queue.CreateIfNotExistsAsync()));
    }

    /// <summary>Enqueues <paramref name="message"/>, visible after <paramref name="delay"/> (capped at <see cref="MaxDelay"/>)
    /// and kept until consumed. Throws on a storage failure: a worker's follow-up must not be dropped.</summary>
    public async Task EnqueueAsync(LifecycleMessage message, TimeSpan delay = default, CancellationToken ct = default)
    {
        message = message with { TraceParent = message.TraceParent ?? QueueTrace.CurrentTraceParent() };
        var visibility = delay <= TimeSpan.Zero ? (TimeSpan?)null : delay > MaxDelay ? MaxDelay : delay;
        await _created.RunAsync().WaitAsync(ct);
        await StorageErrors.Call(() => _queue.SendMessageAsync(message.ToJson(), visibility, TimeSpan.FromSeconds(-1), ct));
    }

    /// <summary>After a committed write: a failure is logged, never thrown (the write is acknowledged; the timer is the
    /// backstop).</summary>
    public async Task TryEnqueueAsync(LifecycleMessage message, CancellationToken ct = default)
    {
        try
        {
            await EnqueueAsync(message, default, ct);
        }
        catch (Exception e) when (e is MlflowException or OperationCanceledException)
        {
            LogEnqueueFailed(_logger, e, message.Kind);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not enqueue a {Kind} lifecycle message; the cleanup timer will find the work.")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception error, string kind);
}
