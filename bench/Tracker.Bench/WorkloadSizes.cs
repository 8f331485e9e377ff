namespace Tracker.Bench;

/// <summary>
/// How much each workload does. The full sizes are the ones the issue asks for; <c>--quick</c>
/// divides them by about ten so a smoke run finishes in seconds.
/// </summary>
public sealed record WorkloadSizes(
    string Mode,
    int SequentialBatchCalls,
    int ConcurrentWriters,
    int CallsPerWriter,
    int LogMetricWarmupCalls,
    int LogMetricCalls,
    int HistorySteps,
    int HistoryReads,
    int SearchRuns,
    int SearchSetupTasks,
    int SearchRepetitions)
{
    public static readonly WorkloadSizes Full = new(
        Mode: "full",
        SequentialBatchCalls: 100,
        ConcurrentWriters: 8,
        CallsPerWriter: 25,
        LogMetricWarmupCalls: 50,
        LogMetricCalls: 500,
        HistorySteps: 100_000,
        HistoryReads: 3,
        SearchRuns: 2_000,
        SearchSetupTasks: 8,
        SearchRepetitions: 5);

    public static readonly WorkloadSizes Quick = Full with
    {
        Mode = "quick (counts scaled down ~10x)",
        SequentialBatchCalls = 10,
        CallsPerWriter = 3,
        LogMetricWarmupCalls = 10,
        LogMetricCalls = 50,
        HistorySteps = 10_000,
        SearchRuns = 200,
    };

    public static WorkloadSizes For(bool quick) => quick ? Quick : Full;
}
