using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;

namespace Tracker.Core.Webhooks;

/// <summary>
/// The producer side of webhooks: after a registry write has committed, one message per ACTIVE webhook subscribed to
/// the event (and, when it is scoped, to the event's model) goes on the <see cref="QueueName"/> queue. Publishing never
/// fails the request that caused it: that write is already acknowledged, so a failure is logged and the event is lost
/// for webhooks, as it is in MLflow when its delivery thread fails.
/// <para>
/// Subscribers come from a per-instance snapshot of the webhooks table (one partition read), refreshed when older than
/// <see cref="SubscriberRefresh"/> and at once after this instance changes a webhook. So a registry write costs no table
/// read, and a webhook created, changed or deleted on one instance takes effect on every other within 10 seconds.
/// </para>
/// </summary>
public sealed partial class WebhookPublisher
{
    public const string QueueName = "webhook-deliveries";
    public static readonly TimeSpan SubscriberRefresh = TimeSpan.FromSeconds(10);
    /// <summary>How long publishing may take after the write; independent of the request, which may be gone by then.</summary>
    private static readonly TimeSpan PublishBudget = TimeSpan.FromSeconds(10);

    private readonly WebhookStore _store;
    private readonly QueueClient _queue;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookPublisher> _logger;
    private readonly OnceUntilSuccess _created;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;
    private int _generation;

    private sealed record Snapshot(IReadOnlyList<Webhook> Webhooks, long LoadedAt);

    public WebhookPublisher(WebhookStore store, QueueServiceClient queues, IOptions<StorageOptions> storage, TimeProvider time, ILogger<WebhookPublisher> logger)
        : this(store, queues.GetQueueClient(storage.Value.QueueName(QueueName)), time, logger)
    {
    }

    /// <summary>With a queue of its own (tests: one that cannot be reached).</summary>
    internal WebhookPublisher(WebhookStore store, QueueClient queue, TimeProvider time, ILogger<WebhookPublisher> logger)
    {
        _store = store;
        _queue = queue;
        _time = time;
        _logger = logger;
        _created = new OnceUntilSuccess(() => StorageErrors.Call(() => _queue.CreateIfNotExistsAsync()));
    }

    /// <summary>Forget the snapshot: this instance changed a webhook, so its next event reads the table again.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _snapshot = null;
    }

    /// <summary>Queues <paramref name="e"/> of <paramref name="model"/> for every subscribed ACTIVE webhook. Never throws.</summary>
    public async Task PublishAsync(WebhookEvent e, string model, Action<Utf8JsonWriter> data)
    {
        try
        {
            using var budget = new CancellationTokenSource(PublishBudget);
            var subscribers = (await SubscribersAsync(budget.Token)).Where(w => w.IsActive && w.Wants(e, model)).ToList();
            if (subscribers.Count == 0) return;
            var payload = WebhookPayloads.Envelope(e, _time.GetUtcNow(), data);
            foreach (var webhook in subscribers)
            {
                await EnqueueAsync(new WebhookDeliveryMessage
                {
                    WebhookId = webhook.WebhookId,
                    DeliveryId = Guid.NewGuid().ToString(),
                    Entity = e.Entity,
                    Action = e.Action,
                    Payload = payload,
                    TraceParent = QueueTrace.CurrentTraceParent(),
                }, TimeSpan.Zero, budget.Token);
            }
        }
        catch (Exception error)
        {
            // Anything at all: the registry write this follows is committed and acknowledged.
            LogPublishFailed(_logger, error, e.ToString(), model);
        }
    }

    /// <summary>Enqueues one delivery, visible after <paramref name="delay"/>; throws on a storage failure (the consumer's retry
    /// path relies on that to keep the message it is handling).</summary>
    public async Task EnqueueAsync(WebhookDeliveryMessage message, TimeSpan delay, CancellationToken ct)
    {
        await _created.RunAsync().WaitAsync(ct);
        await StorageErrors.Call(() => _queue.SendMessageAsync(message.ToJson(), delay > TimeSpan.Zero ? delay : null, TimeSpan.FromSeconds(-1), ct));
    }

    private async Task<IReadOnlyList<Webhook>> SubscribersAsync(CancellationToken ct)
    {
        if (Fresh(_snapshot) is { } current) return current.Webhooks;
        await _refresh.WaitAsync(ct);
        try
        {
            if (Fresh(_snapshot) is { } loaded) return loaded.Webhooks;
            var now = _time.GetTimestamp();
            var generation = Volatile.Read(ref _generation);
            var webhooks = await _store.ListAsync(ct);
            // A change made on this instance while the table was being read may be missing from it: use it once, keep none.
            if (generation == Volatile.Read(ref _generation)) _snapshot = new Snapshot(webhooks, now);
            return webhooks;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private Snapshot? Fresh(Snapshot? snapshot) =>
        snapshot is not null && _time.GetElapsedTime(snapshot.LoadedAt) < SubscriberRefresh ? snapshot : null;

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not queue webhook deliveries of {Event} for model {Model}; the event is not delivered.")]
    private static partial void LogPublishFailed(ILogger logger, Exception error, string @event, string model);
}
