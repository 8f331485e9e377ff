namespace Tracker.Bench;

/// <summary>The workloads <c>--only</c> can pick, by the names it takes.</summary>
public static class BenchWorkload
{
    public const string LogBatch = "log-batch";
    public const string LogMetric = "log-metric";
    public const string MetricHistory = "history";
    public const string Search = "search";
    public const string Artifacts = "artifacts";

    public static readonly IReadOnlyList<string> All = [LogBatch, LogMetric, MetricHistory, Search, Artifacts];
}
