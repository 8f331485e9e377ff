namespace Tracker.Bench;

// Small wire-contract records for the MLflow calls the bench makes (MLflow's JSON field names in comments).

/// <summary>A metric point: <c>{key, value, timestamp, step}</c>.</summary>
public readonly record struct MetricPoint(string Key, double Value, long Timestamp, long Step);

/// <summary>A param or tag: <c>{key, value}</c>.</summary>
public readonly record struct KeyValue(string Key, string Value);

/// <summary>One page of <c>GET metrics/get-history</c>.</summary>
public sealed record MetricHistoryPage(IReadOnlyList<MetricPoint> Metrics, string? NextPageToken);

/// <summary>The parts of a <c>Run</c> the search checks look at.</summary>
public sealed record RunSummary(string RunId, IReadOnlyDictionary<string, double> Metrics);

/// <summary>One page of <c>POST runs/search</c>; <see cref="Cache"/> is Tracker's diagnostic header, when it sent one.</summary>
public sealed record SearchRunsPage(IReadOnlyList<RunSummary> Runs, string? NextPageToken)
{
    public SearchCacheState? Cache { get; init; }
}

/// <summary>The body of <c>POST runs/search</c> minus the page token.</summary>
public sealed record SearchRunsQuery(string ExperimentId, string Filter, int MaxResults, IReadOnlyList<string> OrderBy);

/// <summary>VmRSS and VmHWM of a launched server, in MB (2^20 bytes).</summary>
public readonly record struct ServerMemory(double ResidentMegabytes, double PeakResidentMegabytes);
