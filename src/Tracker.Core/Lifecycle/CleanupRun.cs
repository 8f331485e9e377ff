using System.Text.Json.Serialization;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// What one run of the cleanup timer did (issue 10 §4, "logged and readable"): when it ran, whether the host ran it
/// late, how many lifecycle messages of each kind it enqueued, what it skipped and why, and the error if it failed.
/// A run that is still going (or died with its process) has no <see cref="FinishedMs"/>.
/// </summary>
public sealed record CleanupRun
{
    /// <summary>At most this many skipped items are kept with their reasons; <see cref="SkippedCount"/> counts them all.</summary>
    public const int MaxSkippedKept = 100;

    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("started_ms")] public long StartedMs { get; init; }
    [JsonPropertyName("finished_ms")] public long? FinishedMs { get; init; }
    [JsonPropertyName("is_past_due")] public bool IsPastDue { get; init; }
    /// <summary>Lifecycle messages enqueued, per <see cref="LifecycleMessage"/> kind.</summary>
    [JsonPropertyName("enqueued")] public Dictionary<string, int> Enqueued { get; init; } = [];
    [JsonPropertyName("skipped")] public List<CleanupSkip> Skipped { get; init; } = [];
    [JsonPropertyName("skipped_count")] public int SkippedCount { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}

/// <summary>An item the cleanup left alone, and why (an experiment with an unusable <c>tracker.retention_days</c>, say).</summary>
public sealed record CleanupSkip([property: JsonPropertyName("item")] string Item, [property: JsonPropertyName("reason")] string Reason);
