using Tracker.Core.Storage;

namespace Tracker.Functions.Triggers;

/// <summary>
/// A timer-triggered function: the folder <see cref="FunctionName"/> holds its function.json (timerTrigger, binding
/// <see cref="Binding"/>, schedule <c>%<see cref="ScheduleAppSetting"/>%</c>, which the host resolves from app settings
/// as it does any <c>%name%</c> in a binding); the host invokes it as <c>POST /&lt;FunctionName&gt;</c>, and outside the
/// host <see cref="LocalTimer"/> fires the same schedule (<see cref="Schedule"/>, the configuration that app setting
/// feeds). Both call the <see cref="Tracker.Core.Storage.ITimerHandler"/> registered under the function's name.
/// </summary>
public sealed record TimerTrigger(string FunctionName, string ScheduleAppSetting, Func<IServiceProvider, string> Schedule, string Binding = "timer")
{
    /// <summary>Every timer function Tracker has; a function folder without an entry here is caught by the host tests.</summary>
    public static readonly IReadOnlyList<TimerTrigger> All = [CleanupTrigger.Definition];

    /// <summary>Runs the tick through the handler registered under <see cref="FunctionName"/>: what the host's invocation
    /// and the local timer both do.</summary>
    public Task HandleAsync(IServiceProvider services, TimerTick tick, CancellationToken ct) =>
        (services.GetKeyedService<ITimerHandler>(FunctionName)
         ?? throw new InvalidOperationException($"No ITimerHandler is registered for timer '{FunctionName}'.")).HandleAsync(tick, ct);
}
