using System.Collections.Concurrent;
using Tracker.Core.Storage;

namespace Tracker.Tests.Triggers;

/// <summary>A stand-in for a timer's handler: records every tick, and fails them all when <see cref="Fail"/> is set.</summary>
public sealed class RecordingTimerHandler : ITimerHandler
{
    public ConcurrentQueue<TimerTick> Ticks { get; } = new();
    public bool Fail { get; init; }
    private readonly SemaphoreSlim _ticked = new(0);

    public Task HandleAsync(TimerTick tick, CancellationToken cancellationToken)
    {
        Ticks.Enqueue(tick);
        _ticked.Release();
        return Fail ? Task.FromException(new InvalidOperationException("the cleanup failed")) : Task.CompletedTask;
    }

    /// <summary>Waits until <paramref name="count"/> ticks were recorded (a generous bound, not a timing check).</summary>
    public async Task WaitForAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (Ticks.Count < count) await _ticked.WaitAsync(timeout.Token);
    }
}
