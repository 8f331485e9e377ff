using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;
using StoredMessage = Azure.Storage.Queues.Models.QueueMessage;

namespace Tracker.Functions.Triggers;

/// <summary>
/// Local mode: what the Functions host does for each queue trigger, done in-process so promotions work under
/// <c>npm start</c>. Same handlers and the host queue listener's semantics: a message is leased while its handler runs
/// and deleted on success; a failure makes it visible again after <see cref="TriggerOptions.VisibilityTimeout"/>; a
/// message that fails on its <see cref="TriggerOptions.MaxDequeueCount"/>th delivery (or arrives already past it) is
/// moved to <c>&lt;queue&gt;-poison</c>, where the poison function picks it up. Never runs under the host.
/// </summary>
public sealed partial class LocalQueuePoller(
    IServiceProvider services, QueueServiceClient queues, IOptions<TriggerOptions> options, IOptions<StorageOptions> storage,
    ILogger<LocalQueuePoller> logger) : BackgroundService
{
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(QueueTrigger.All.Select(trigger => Task.Run(() => PollAsync(trigger, stoppingToken), stoppingToken)));

    private async Task PollAsync(QueueTrigger trigger, CancellationToken ct)
    {
        var o = options.Value;
        var queue = queues.GetQueueClient(storage.Value.QueueName(trigger.Queue));
        var poison = queues.GetQueueClient(storage.Value.QueueName(QueueTrigger.PoisonQueueOf(trigger.Queue)));
        var delay = MinPollingInterval;
        var created = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!created)
                {
                    // Azure's queues come from Bicep; Azurite starts empty.
                    await queue.CreateIfNotExistsAsync(cancellationToken: ct);
                    created = true;
                }
                var received = (await queue.ReceiveMessagesAsync(16, o.Lease, ct)).Value;
                foreach (var message in received)
                {
                    try
                    {
                        await DeliverAsync(trigger, queue, poison, message, ct);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        // Releasing or deleting failed: the lease runs out and the message comes back, as under the
                        // host; the rest of the batch is still delivered.
                        LogPollFailed(logger, e, trigger.Queue);
                    }
                }
                delay = received.Length > 0 ? TimeSpan.Zero : Next(delay, o.MaxPollingInterval);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogPollFailed(logger, e, trigger.Queue);
                delay = o.MaxPollingInterval;
            }
            if (delay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(delay, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task DeliverAsync(QueueTrigger trigger, QueueClient queue, QueueClient poison, StoredMessage stored, CancellationToken ct)
    {
        var max = options.Value.MaxDequeueCount;
        // The host's check before processing: a message dequeued more often than allowed (its handler crashed the
        // process, say) goes straight to the poison queue.
        if (stored.DequeueCount > max)
        {
            await MoveToPoisonAsync(queue, poison, stored, ct);
            return;
        }
        var message = new Core.Storage.QueueMessage(trigger.Queue, stored.Body.ToString(), stored.DequeueCount, stored.MessageId);
        try
        {
            await using var scope = services.CreateAsyncScope();
            await trigger.HandleAsync(scope.ServiceProvider, message, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw; // shutting down: the lease runs out and the message comes back, as when the host stops
        }
        catch (Exception e)
        {
            LogHandlerFailed(logger, e, trigger.FunctionName, stored.MessageId, stored.DequeueCount);
            if (stored.DequeueCount >= max)
                await MoveToPoisonAsync(queue, poison, stored, ct);
            else
                await queue.UpdateMessageAsync(stored.MessageId, stored.PopReceipt, visibilityTimeout: options.Value.VisibilityTimeout, cancellationToken: ct);
            return;
        }
        await queue.DeleteMessageAsync(stored.MessageId, stored.PopReceipt, ct);
    }

    private async Task MoveToPoisonAsync(QueueClient queue, QueueClient poison, StoredMessage stored, CancellationToken ct)
    {
        // Copy first, then delete: a crash between the two delivers the message twice (handlers are idempotent),
        // never loses it.
        await poison.CreateIfNotExistsAsync(cancellationToken: ct);
        await poison.SendMessageAsync(stored.Body, cancellationToken: ct);
        await queue.DeleteMessageAsync(stored.MessageId, stored.PopReceipt, ct);
        LogPoisoned(logger, stored.MessageId, queue.Name, poison.Name, stored.DequeueCount);
    }

    private static TimeSpan Next(TimeSpan delay, TimeSpan max) =>
        delay <= TimeSpan.Zero ? MinPollingInterval : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, max.Ticks));

    [LoggerMessage(Level = LogLevel.Error, Message = "Polling queue {Queue} failed.")]
    private static partial void LogPollFailed(ILogger logger, Exception error, string queue);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trigger {Function} failed on message {MessageId} (delivery {DequeueCount}).")]
    private static partial void LogHandlerFailed(ILogger logger, Exception error, string function, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moved message {MessageId} from {Queue} to {PoisonQueue} after {DequeueCount} deliveries.")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string queue, string poisonQueue, long dequeueCount);
}
