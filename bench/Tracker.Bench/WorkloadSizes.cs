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
    int SearchRepetitions,
    int ArtifactMegabytes,
    int RegisteredModels,
    int ModelVersions)
{
    /// <summary>Runs deleted and purged by <c>--only purge</c>, and the artifacts each holds.</summary>
    public int PurgeRuns { get; init; } = 10;
    public int PurgeFilesPerRun { get; init; } = 1_000;

    /// <summary>Runs in each experiment of <c>--only scale</c>, smallest first: issue 11's table rows.</summary>
    public IReadOnlyList<int> ScaleRuns { get; init; } = [2_000, 20_000, 100_000];

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
        SearchRepetitions: 5,
        ArtifactMegabytes: 1024,
        RegisteredModels: 1_000,
        ModelVersions: 10_000);

    public static readonly WorkloadSizes Quick = Full with
    {
        Mode = "quick (counts scaled down ~10x)",
        SequentialBatchCalls = 10,
        CallsPerWriter = 3,
        LogMetricWarmupCalls = 10,
        LogMetricCalls = 50,
        HistorySteps = 10_000,
        SearchRuns = 200,
        ArtifactMegabytes = 64,
        RegisteredModels = 100,
        ModelVersions = 1_000,
        PurgeRuns = 2,
        PurgeFilesPerRun = 50,
        ScaleRuns = [200, 2_000, 10_000],
    };

    /// <summary>The sizes for <c>--quick</c> or not, with an explicit <c>--artifact-mb</c> or <c>--scale-runs</c> over either.</summary>
    public static WorkloadSizes For(BenchOptions options)
    {
        var sizes = options.Quick ? Quick : Full;
        sizes = options.ArtifactMegabytes is { } mb ? sizes with { ArtifactMegabytes = mb } : sizes;
        return options.ScaleRuns is { } runs ? sizes with { ScaleRuns = runs } : sizes;
    }
}
