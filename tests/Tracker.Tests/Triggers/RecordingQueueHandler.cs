using System.Collections.Concurrent;
using Tracker.Core.Storage;

namespace Tracker.Tests.Triggers;

/// <summary>
/// A stand-in for a feature's queue handler: records every delivery, and fails the first <see cref="FailuresBeforeSuccess"/>
/// deliveries of each message (int.MaxValue: always).
/// </summary>
public sealed class RecordingQueueHandler : IQueueHandler
{
    public ConcurrentQueue<QueueMessage> Deliveries { get; } = new();
    public int FailuresBeforeSuccess { get; init; }

    /// <summary>Thrown by a failing delivery; an MLflow-looking error, so a test sees it never reaches MLflow's writer.</summary>
    public Exception Failure { get; init; } = new InvalidOperationException("the handler failed");

    private readonly SemaphoreSlim _delivered = new(0);

    public Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        Deliveries.Enqueue(message);
        _delivered.Release();
        return Deliveries.Count(d => d.Text == message.Text) <= FailuresBeforeSuccess ? Task.FromException(Failure) : Task.CompletedTask;
    }

    /// <summary>Waits until <paramref name="count"/> deliveries were recorded in all (a generous bound, not a timing check).</summary>
    public async Task WaitForAsync(int count, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(60));
        while (Deliveries.Count < count) await _delivered.WaitAsync(timeout.Token);
    }
}
