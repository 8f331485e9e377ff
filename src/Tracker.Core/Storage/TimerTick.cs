namespace Tracker.Core.Storage;

/// <summary>
/// One firing of a timer function, the same whether the Functions host invoked it or the local timer fired it: when it
/// fired (the host's <c>Metadata.sys.UtcNow</c>), whether it runs late (<c>IsPastDue</c>: the app was down at the
/// scheduled time) and, where the host keeps schedule status, the last and next occurrences.
/// </summary>
public sealed record TimerTick(DateTimeOffset UtcNow, bool IsPastDue, DateTimeOffset? Last = null, DateTimeOffset? Next = null);

/// <summary>
/// The code behind a timer function: registered in DI as a keyed service under the function's name. Throwing fails the
/// invocation (the host logs it; a timer is not retried, the next occurrence runs as scheduled).
/// </summary>
public interface ITimerHandler
{
    Task HandleAsync(TimerTick tick, CancellationToken cancellationToken);
}

/// <summary>An <see cref="ITimerHandler"/> over a service method.</summary>
public sealed class DelegateTimerHandler(Func<TimerTick, CancellationToken, Task> handle) : ITimerHandler
{
    public Task HandleAsync(TimerTick tick, CancellationToken cancellationToken) => handle(tick, cancellationToken);
}
