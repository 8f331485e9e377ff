using Microsoft.Extensions.Options;
using Tracker.Core.Lifecycle;

namespace Tracker.Functions.Triggers;

/// <summary>Scheduled cleanup (issue 10 §4): finds what is due and enqueues lifecycle work (<see cref="CleanupService"/>).</summary>
public static class CleanupTrigger
{
    public const string FunctionName = CleanupService.TimerFunctionName;
    /// <summary>The app setting function.json's schedule names; <see cref="LifecycleOptions.CleanupSchedule"/> binds the same one.</summary>
    public const string ScheduleAppSetting = "Tracker__Lifecycle__CleanupSchedule";

    public static readonly TimerTrigger Definition = new(FunctionName, ScheduleAppSetting,
        sp => sp.GetRequiredService<IOptions<LifecycleOptions>>().Value.CleanupSchedule);
}
