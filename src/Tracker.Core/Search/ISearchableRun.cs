namespace Tracker.Core.Search;

/// <summary>What the run filter and order-by grammar can see of a run.</summary>
public interface ISearchableRun
{
    string RunId { get; }
    /// <summary>The run's name (MLflow evaluates <c>attributes.run_name</c> against the <c>mlflow.runName</c> tag).</summary>
    string RunName { get; }
    /// <summary>RunStatus name: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED.</summary>
    string Status { get; }
    string UserId { get; }
    string ArtifactUri { get; }
    long StartTime { get; }
    long? EndTime { get; }
    /// <summary>The param's value, or null when the run has none by that key. Lookups, not dictionaries, so that a run
    /// held compactly (a search cache of 100,000 runs) need not build maps to be searched.</summary>
    string? Param(string key);
    /// <summary>The tag's value, or null when the run has no such tag.</summary>
    string? Tag(string key);
    /// <summary>The metric's latest value (MLflow's max (step, timestamp, value)), NaN where the latest is NaN; null when
    /// the run has no such metric.</summary>
    double? LatestMetric(string key);
    /// <summary>The run's dataset inputs: name, digest and the <c>mlflow.data.context</c> input tag (null when absent).</summary>
    IReadOnlyList<SearchableDataset> Datasets { get; }
}

public sealed record SearchableDataset(string Name, string Digest, string? Context);

/// <summary>What the experiment filter and order-by grammar can see of an experiment.</summary>
public interface ISearchableExperiment
{
    string ExperimentId { get; }
    string Name { get; }
    long CreationTime { get; }
    long LastUpdateTime { get; }
    IReadOnlyDictionary<string, string> Tags { get; }
}
