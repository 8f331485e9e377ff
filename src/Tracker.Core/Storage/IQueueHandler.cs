namespace Tracker.Core.Storage;

/// <summary>
/// The code behind a queue: registered in DI as a keyed service under the queue's name
/// (<c>AddKeyedSingleton&lt;IQueueHandler&gt;("model-promotions", …)</c>). Returning completes the message; throwing
/// leaves it for a retry, and after the host's <c>maxDequeueCount</c> failures it moves to <c>&lt;queue&gt;-poison</c>.
/// </summary>
public interface IQueueHandler
{
    Task HandleAsync(QueueMessage message, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IQueueHandler"/> over a service method, so a service needs no class of its own per queue.</summary>
public sealed class DelegateQueueHandler(Func<QueueMessage, CancellationToken, Task> handle) : IQueueHandler
{
    public Task HandleAsync(QueueMessage message, CancellationToken cancellationToken) => handle(message, cancellationToken);
}
