using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;

namespace Tracker.Core.Webhooks;

/// <summary>
/// The consumer of <see cref="WebhookPublisher.QueueName"/> (the WebhookDelivery function, or the local poller). It
/// reads the webhook again (gone, DISABLED or no longer subscribed: the message is dropped), POSTs the event's body
/// signed with the stored secret, and on a failure worth retrying (no answer, 5xx, 429) enqueues the same delivery
/// again with a growing delay (<see cref="RetryDelay"/>) until <see cref="WebhookOptions.MaxAttempts"/>, after which it
/// is dropped with a logged error. A 4xx (other than 429), a 3xx (redirects are not followed) or a refused destination
/// is not retried. Only a failure to reach Tracker's own storage throws, so the queue delivers the message again and,
/// after maxDequeueCount, the poison queue keeps it.
/// </summary>
public sealed partial class WebhookDeliveries(
    WebhookStore store, WebhookPublisher publisher, WebhookSender sender, IOptions<WebhookOptions> options, ILogger<WebhookDeliveries> logger)
{
    private readonly int _maxAttempts = options.Value.MaxAttempts;

    /// <summary>How long the delivery after failed attempt <paramref name="attempt"/> waits: 30 s, 2 min, 10 min, 30 min, then hourly.</summary>
    public static TimeSpan RetryDelay(int attempt) => attempt switch
    {
        <= 1 => TimeSpan.FromSeconds(30),
        2 => TimeSpan.FromMinutes(2),
        3 => TimeSpan.FromMinutes(10),
        4 => TimeSpan.FromMinutes(30),
        _ => TimeSpan.FromHours(1),
    };

    public async Task HandleAsync(QueueMessage queued, CancellationToken ct)
    {
        if (WebhookDeliveryMessage.Parse(queued.Text) is not { } message)
        {
            LogMalformed(logger, queued.Id, queued.Queue);
            return;
        }
        (Webhook Webhook, string? Secret)? found;
        try
        {
            found = await store.GetSecretAsync(message.WebhookId, ct);
        }
        catch (MlflowException e) when (e.Code == ErrorCode.InvalidState)
        {
            // Retrying cannot help, and sending unsigned would let anyone's payload pass as ours.
            LogSecretUnreadable(logger, e, message.DeliveryId, message.WebhookId);
            return;
        }
        if (found is not var (webhook, secret))
        {
            LogDropped(logger, message.DeliveryId, message.WebhookId, "the webhook was deleted");
            return;
        }
        if (!webhook.IsActive || !webhook.Events.Contains(message.Event))
        {
            LogDropped(logger, message.DeliveryId, message.WebhookId, webhook.IsActive ? "it no longer subscribes to the event" : "it is DISABLED");
            return;
        }
        var outcome = await sender.SendAsync(webhook.Url, secret, message.DeliveryId, message.Payload, ct);
        if (outcome.Delivered)
        {
            LogDelivered(logger, message.DeliveryId, message.Event.ToString(), message.WebhookId, outcome.Status!.Value, message.Attempt);
            return;
        }
        var failure = outcome.Status is { } status ? $"HTTP {status}" : outcome.Error ?? "no answer";
        if (!outcome.Retriable)
        {
            LogNotRetried(logger, message.DeliveryId, message.WebhookId, failure);
            return;
        }
        if (message.Attempt >= _maxAttempts)
        {
            LogGaveUp(logger, message.DeliveryId, message.WebhookId, message.Attempt, failure);
            return;
        }
        var delay = RetryDelay(message.Attempt);
        // Throws on a storage failure: this message is then delivered again rather than the retry being lost.
        await publisher.EnqueueAsync(message with { Attempt = message.Attempt + 1 }, delay, ct);
        LogRetrying(logger, message.DeliveryId, message.WebhookId, message.Attempt, failure, delay);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} to webhook {WebhookId} dropped: its secret cannot be decrypted")]
    private static partial void LogSecretUnreadable(ILogger logger, Exception error, string deliveryId, string webhookId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed webhook delivery message {MessageId} on {Queue}; dropped")]
    private static partial void LogMalformed(ILogger logger, string? messageId, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to webhook {WebhookId} dropped: {Reason}")]
    private static partial void LogDropped(ILogger logger, string deliveryId, string webhookId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} ({Event}) to webhook {WebhookId}: HTTP {Status} on attempt {Attempt}")]
    private static partial void LogDelivered(ILogger logger, string deliveryId, string @event, string webhookId, int status, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to webhook {WebhookId} failed and is not retried: {Failure}")]
    private static partial void LogNotRetried(ILogger logger, string deliveryId, string webhookId, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} to webhook {WebhookId} dropped after {Attempts} attempts; the last failed: {Failure}")]
    private static partial void LogGaveUp(ILogger logger, string deliveryId, string webhookId, int attempts, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to webhook {WebhookId}: attempt {Attempt} failed ({Failure}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string deliveryId, string webhookId, int attempt, string failure, TimeSpan delay);
}
