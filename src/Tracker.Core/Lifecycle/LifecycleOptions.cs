using NCrontab;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// Retention and tiering (issue 10 §3–4), app settings <c>Tracker__Lifecycle__*</c> with the defaults Bicep also sets
/// (a test keeps them equal).
/// </summary>
public sealed class LifecycleOptions
{
    public const string Section = "Tracker:Lifecycle";
    /// <summary>The timer's default NCRONTAB schedule: six fields, 03:00:00 UTC daily.</summary>
    public const string DefaultSchedule = "0 0 3 * * *";

    /// <summary>Days a deleted run or experiment is kept (and can be restored) before it is purged for good. 0 purges
    /// at the next lifecycle pass.</summary>
    public int DeletedRetentionDays { get; set; } = 30;
    /// <summary>Days a model version stays <c>Archived</c> before its artifacts move to the Cool tier.</summary>
    public int ArchivedCoolAfterDays { get; set; } = 30;
    /// <summary>The cleanup timer's NCRONTAB schedule (function.json reads the same app setting).</summary>
    public string CleanupSchedule { get; set; } = DefaultSchedule;
    /// <summary>The most blobs one lifecycle invocation deletes or re-tiers; the rest goes on in a follow-up message.</summary>
    public int MaxBlobsPerMessage { get; set; } = 5000;

    /// <summary>Whether something deleted at <paramref name="deletedTimeMs"/> (Unix ms) may be purged at <paramref name="now"/>.
    /// The one rule the timer and the purge worker share.</summary>
    public bool PurgeDue(long deletedTimeMs, DateTimeOffset now) =>
        deletedTimeMs + TimeSpan.FromDays(DeletedRetentionDays).Ticks / TimeSpan.TicksPerMillisecond <= now.ToUnixTimeMilliseconds();

    /// <summary>Whether a version archived at <paramref name="archivedTimeMs"/> (Unix ms) is due for the Cool tier.</summary>
    public bool CoolDue(long archivedTimeMs, DateTimeOffset now) =>
        archivedTimeMs + TimeSpan.FromDays(ArchivedCoolAfterDays).Ticks / TimeSpan.TicksPerMillisecond <= now.ToUnixTimeMilliseconds();

    public bool IsValid() =>
        DeletedRetentionDays is >= 0 and <= 3650 && ArchivedCoolAfterDays is >= 0 and <= 3650 &&
        ParseSchedule(CleanupSchedule) is not null && MaxBlobsPerMessage is >= 1 and <= 100_000;

    /// <summary>A six-field NCRONTAB expression (seconds first, as the Functions host reads a timer schedule), or null
    /// for anything else: a five-field Unix cron line included, which would silently mean something else.</summary>
    public static CrontabSchedule? ParseSchedule(string? schedule) =>
        schedule is not null && schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6
            ? CrontabSchedule.TryParse(schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true })
            : null;
}
