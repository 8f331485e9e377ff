namespace Tracker.Core.Tracking;

// MLflow's tracking entities, shaped like its protos (mlflow/protos/service.proto). Small wire-contract records
// are grouped here on purpose (STYLE.md §8).

public static class LifecycleStage
{
    public const string Active = "active";
    public const string Deleted = "deleted";
}

public enum ViewType { ActiveOnly = 1, DeletedOnly = 2, All = 3 }

public static class RunStatus
{
    public static readonly IReadOnlyList<string> Names = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

    /// <summary>Accepts the enum name or its proto number, as proto-JSON does.</summary>
    public static string? Parse(string value)
    {
        if (int.TryParse(value, out var n)) return n is >= 1 and <= 5 ? Names[n - 1] : null;
        foreach (var name in Names)
            if (name == value) return name;
        return null;
    }
}

public sealed record KeyValue(string Key, string Value);

public sealed record Metric(string Key, double Value, long Timestamp, long Step);

public sealed record Experiment(
    string ExperimentId,
    string Name,
    string ArtifactLocation,
    string LifecycleStage,
    long CreationTime,
    long LastUpdateTime,
    IReadOnlyList<KeyValue> Tags,
    long? DeletedTime = null); // not on MLflow's wire; when the experiment was deleted (the lifecycle's retention clock)

public sealed record RunInfo(
    string RunId,
    string ExperimentId,
    string RunName,
    string UserId,
    string Status,
    long StartTime,
    long? EndTime,
    string ArtifactUri,
    string LifecycleStage,
    long? DeletedTime = null); // not on MLflow's wire; when the run was deleted (the lifecycle's retention clock)

public sealed record Dataset(string Name, string Digest, string SourceType, string Source, string? Schema, string? Profile);

public sealed record DatasetInput(IReadOnlyList<KeyValue> Tags, Dataset Dataset);

public sealed record ModelOutput(string ModelId, long Step);

public sealed record Run(
    RunInfo Info,
    IReadOnlyList<Metric> Metrics,
    IReadOnlyList<KeyValue> Params,
    IReadOnlyList<KeyValue> Tags,
    IReadOnlyList<DatasetInput> DatasetInputs,
    IReadOnlyList<string> ModelInputs,
    IReadOnlyList<ModelOutput> ModelOutputs);

/// <summary>A metric point of one run, as get-history-bulk(-interval) returns it.</summary>
public sealed record RunMetric(string RunId, Metric Metric);

/// <summary>One page of a search: the items and the opaque token for the next page (null on the last).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextPageToken);
