using System.Globalization;

namespace Tracker.Bench;

/// <summary>
/// Experiment names unique per bench invocation: names are unique even across deleted
/// experiments, and the bench must be re-runnable against the same server without cleanup.
/// </summary>
public static class BenchNames
{
    private static readonly string RunStamp =
        DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];

    public static string Experiment(string purpose) => $"tracker-bench-{purpose}-{RunStamp}";
}
