namespace Tracker.Core.Tracking;

/// <summary>MLflow 3's <c>LoggedModelStatus</c>, sent and answered as enum names.</summary>
public static class LoggedModelStatus
{
    public const string Pending = "LOGGED_MODEL_PENDING";
    public const string Ready = "LOGGED_MODEL_READY";
    public const string UploadFailed = "LOGGED_MODEL_UPLOAD_FAILED";
}

/// <summary>
/// An MLflow 3 logged model (spec §2.4; mlflow/protos/service.proto <c>LoggedModel</c>): created by
/// <c>mlflow.&lt;flavor&gt;.log_model</c>, its files under <see cref="ArtifactUri"/>
/// (<c>mlflow-artifacts:/&lt;exp&gt;/models/&lt;model_id&gt;/artifacts</c>).
/// </summary>
public sealed record LoggedModel(
    string ModelId,
    string ExperimentId,
    string Name,
    string? ModelType,
    string? SourceRunId,
    string Status,
    string? StatusMessage,
    long CreationTimestamp,
    long LastUpdatedTimestamp,
    string ArtifactUri,
    string LifecycleStage,
    IReadOnlyList<KeyValue> Tags,
    IReadOnlyList<KeyValue> Params,
    IReadOnlyList<LoggedModelMetric> Metrics);

/// <summary>A metric logged with a <c>model_id</c>, as <c>LoggedModel.data.metrics</c> carries it.</summary>
public sealed record LoggedModelMetric(
    string Key, double Value, long Timestamp, long Step, string? RunId, string? DatasetName, string? DatasetDigest);
