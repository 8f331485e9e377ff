using Tracker.Core.Lifecycle;
using Tracker.Core.Storage;

namespace Tracker.Functions.Triggers;

/// <summary>
/// Local mode: what the Functions host's timer listener does for each <see cref="TimerTrigger"/>, done in-process so
/// cleanup runs under <c>npm start</c> too. It fires at each occurrence of the trigger's NCRONTAB schedule (UTC, six
/// fields, as the host reads it) and calls the same <see cref="ITimerHandler"/> the <c>POST /&lt;FunctionName&gt;</c>
/// endpoint calls. Like the host without schedule monitoring, it does not catch up on occurrences missed while the
/// process was down, and a failed run is logged, not retried. Never runs under the host, on the same rule as
/// <see cref="LocalQueuePoller"/>.
/// </summary>
public sealed partial class LocalTimer(IServiceProvider services, TimeProvider clock, ILogger<LocalTimer> logger) : BackgroundService
{
    /// <summary>A long wait is taken in steps, so a changed system clock is noticed within this.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(TimerTrigger.All.Select(trigger => Task.Run(() => RunAsync(trigger, stoppingToken), stoppingToken)));

    private async Task RunAsync(TimerTrigger trigger, CancellationToken ct)
    {
        var expression = trigger.Schedule(services);
        // Start-up validation (LifecycleOptions) refuses a bad schedule before this runs; this is the last guard.
        var schedule = LifecycleOptions.ParseSchedule(expression)
                       ?? throw new InvalidOperationException($"Timer {trigger.FunctionName} has an invalid NCRONTAB schedule '{expression}'.");
        DateTimeOffset? last = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var due = new DateTimeOffset(schedule.GetNextOccurrence(clock.GetUtcNow().UtcDateTime), TimeSpan.Zero);
                for (var now = clock.GetUtcNow(); now < due; now = clock.GetUtcNow())
                    await Task.Delay(Min(due - now, MaxWait), clock, ct);
                var next = new DateTimeOffset(schedule.GetNextOccurrence(due.UtcDateTime), TimeSpan.Zero);
                await FireAsync(trigger, new TimerTick(clock.GetUtcNow(), IsPastDue: false, last, next), ct);
                last = due;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    private async Task FireAsync(TimerTrigger trigger, TimerTick tick, CancellationToken ct)
    {
        try
        {
            await using var scope = services.CreateAsyncScope();
            await trigger.HandleAsync(scope.ServiceProvider, tick, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogFailed(logger, e, trigger.FunctionName, tick.UtcNow);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer {Function} failed on the tick of {UtcNow:O}.")]
    private static partial void LogFailed(ILogger logger, Exception error, string function, DateTimeOffset utcNow);
}
