using System.Text.Json;
using System.Text.Json.Serialization;
using Tracker.Core.Storage;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// One unit of lifecycle work on the <see cref="LifecycleQueue.QueueName"/> queue (issue 10 §3–4). A message names what
/// changed, never what to do: the worker reads the current state and reconciles (purge if still deleted and due, tier
/// Cool if still archived and due, back to Hot if no longer archived), so duplicates, reordering and forged messages
/// change nothing that should not change. <see cref="Continuation"/> is the worker's own resume point when one
/// invocation's bounded share of a large run was not enough.
/// </summary>
public sealed record LifecycleMessage
{
    /// <summary>A run was deleted: purge it (rows, metric history, blobs, its logged models) once retention has passed.</summary>
    public const string RunDeleted = "run_deleted";
    /// <summary>An experiment was deleted: purge it with all its runs once retention has passed.</summary>
    public const string ExperimentDeleted = "experiment_deleted";
    /// <summary>A model version's stage changed: Cool tier once archived long enough, Hot again when promoted.</summary>
    public const string VersionStageChanged = "version_stage_changed";
    /// <summary>The cleanup timer found a run in an experiment with <c>tracker.retention_days</c>: delete its artifacts
    /// older than <see cref="CutoffMs"/>, except those of registered versions that are not archived.</summary>
    public const string ExpireArtifacts = "expire_artifacts";

    /// <summary>
    /// The model-version tag the tiering worker sets to <c>Cool</c> once it moved the version's artifacts there (and
    /// removes when they are Hot again), so the cleanup timer can tell which archived versions are still due without
    /// listing blobs. A version counts as archived since its <c>last_updated_timestamp</c>.
    /// </summary>
    public const string StorageTierTag = "tracker.storage_tier";

    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("run_id")] public string? RunId { get; init; }
    [JsonPropertyName("experiment_id")] public string? ExperimentId { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("version")] public long? Version { get; init; }
    /// <summary>For <see cref="ExpireArtifacts"/>: artifacts last modified before this (Unix ms) are due.</summary>
    [JsonPropertyName("cutoff_ms")] public long? CutoffMs { get; init; }
    /// <summary>Opaque resume point written by the worker that sent this follow-up message.</summary>
    [JsonPropertyName("continuation")] public string? Continuation { get; init; }
    /// <summary>The producer's W3C trace context (<see cref="QueueTrace.Property"/>).</summary>
    [JsonPropertyName(QueueTrace.Property)] public string? TraceParent { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, LifecycleJson.Default.LifecycleMessage);

    /// <summary>The message a queue delivery carries, or null for text that is not one (dropped with a warning: nothing in
    /// a malformed message is trusted, so there is nothing to retry).</summary>
    public static LifecycleMessage? Parse(string text)
    {
        try
        {
            var message = JsonSerializer.Deserialize(text, LifecycleJson.Default.LifecycleMessage);
            return message is { Kind: RunDeleted or ExperimentDeleted or VersionStageChanged or ExpireArtifacts } ? message : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LifecycleMessage))]
internal sealed partial class LifecycleJson : JsonSerializerContext;
