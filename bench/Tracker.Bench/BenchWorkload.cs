namespace Tracker.Bench;

/// <summary>The workloads <c>--only</c> can pick, by the names it takes.</summary>
public static class BenchWorkload
{
    public const string LogBatch = "log-batch";
    public const string LogMetric = "log-metric";
    public const string MetricHistory = "history";
    public const string Search = "search";
    public const string Artifacts = "artifacts";
    public const string Registry = "registry";

    /// <summary>Only with <c>--launch</c>, and only when named: they start or strain servers rather than time them.</summary>
    public const string Fuzz = "fuzz";
    public const string Telemetry = "telemetry";
    public const string Auth = "auth";
    public const string Purge = "purge";
    public const string Promotion = "promotion";
    public const string Scale = "scale";

    /// <summary>The standard workloads, run when <c>--only</c> is not given.</summary>
    public static readonly IReadOnlyList<string> All = [LogBatch, LogMetric, MetricHistory, Search, Registry, Artifacts];

    public static readonly IReadOnlyList<string> Named = [.. All, Fuzz, Telemetry, Auth, Promotion, Purge, Scale];
}
