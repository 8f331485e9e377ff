using System.Text.Json;
using System.Text.Json.Serialization;
using Tracker.Core.Search;
using Tracker.Core.Tracking;

namespace Tracker.Core.Storage;

/// <summary>
/// Everything about a run except its metric history, stored as one JSON document in the run's row. Searches hold a
/// compact copy of it (<see cref="CompactRun"/>).
/// </summary>
internal sealed class RunDocument
{
    public required string RunId { get; set; }
    public required string ExperimentId { get; set; }
    public string RunName { get; set; } = "";
    public string UserId { get; set; } = "";
    public string Status { get; set; } = "RUNNING";
    public long StartTime { get; set; }
    public long? EndTime { get; set; }
    public string Lifecycle { get; set; } = LifecycleStage.Active;
    public long? DeletedTime { get; set; }
    public List<KeyValue> Params { get; set; } = [];
    public List<KeyValue> Tags { get; set; } = [];
    public List<MetricState> Metrics { get; set; } = [];
    public List<DatasetInput> Inputs { get; set; } = [];
    public List<string> ModelInputs { get; set; } = [];
    public List<ModelOutput> ModelOutputs { get; set; } = [];
    /// <summary>History rows written since the last compaction (see TrackingStore.History).</summary>
    public int PendingHistoryRows { get; set; }
    /// <summary>Where the run's metric history is (see TrackingStore.History): <see cref="CurrentHistoryLayout"/> for runs
    /// created since history moved into the runs table; absent (0) for older runs, whose history may be in both places.</summary>
    public int HistoryLayout { get; set; }

    public const int CurrentHistoryLayout = 2;

    /// <summary>The document's <c>historyLayout</c> without deserializing the rest (a history read needs only that).</summary>
    public static int HistoryLayoutOf(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isLayout = reader.ValueTextEquals("historyLayout"u8);
            reader.Read();
            if (isLayout) return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var layout) ? layout : 0;
            reader.Skip();
        }
        return 0;
    }

    /// <summary>Logged points not yet in a history row; kept in the row's own binary properties, outside the JSON,
    /// so searches (which select only the document) never read them.</summary>
    [JsonIgnore] public PointBuffer Buffer { get; set; } = PointBuffer.Empty();

    /// <summary>The spill generation the stored run row names, "" while the document fits the row (see
    /// TrackingStore.RunSpill).</summary>
    [JsonIgnore] public string Spill { get; set; } = "";

    [JsonIgnore] public string ArtifactUri => RunIds.ArtifactUri(ExperimentId, RunId);

    public RunInfo ToInfo() =>
        new(RunId, ExperimentId, RunName, UserId, Status, StartTime, EndTime, ArtifactUri, Lifecycle, DeletedTime);

    public Run ToRun() => new(ToInfo(), Metrics.Select(m => m.Latest).ToList(), Params, Tags, Inputs, ModelInputs, ModelOutputs);

    public void SetTag(string key, string value)
    {
        var i = Tags.FindIndex(t => t.Key == key);
        if (i >= 0) Tags[i] = new KeyValue(key, value);
        else Tags.Add(new KeyValue(key, value));
        if (key == MlflowTags.RunName) RunName = value;
    }

    public bool RemoveTag(string key) => Tags.RemoveAll(t => t.Key == key) > 0;

    public MetricState? FindMetric(string key) => Metrics.Find(m => m.Key == key);
}

/// <summary>A metric key of a run and its latest value.</summary>
internal sealed class MetricState
{
    public required string Key { get; set; }
    /// <summary>Latest value by MLflow's rule: the largest (step, timestamp, value).</summary>
    public double Value { get; set; }
    public long Timestamp { get; set; }
    public long Step { get; set; }
    [JsonIgnore] public Metric Latest => new(Key, Value, Timestamp, Step);
}

/// <summary>One experiment row's document.</summary>
internal sealed class ExperimentDocument : ISearchableExperiment
{
    public required string ExperimentId { get; set; }
    public required string Name { get; set; }
    public string Lifecycle { get; set; } = LifecycleStage.Active;
    public long CreationTime { get; set; }
    public long LastUpdateTime { get; set; }
    public long? DeletedTime { get; set; }
    public List<KeyValue> Tags { get; set; } = [];

    private Dictionary<string, string>? _tagMap;
    IReadOnlyDictionary<string, string> ISearchableExperiment.Tags =>
        _tagMap ??= Tags.GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);

    public Experiment ToExperiment() =>
        new(ExperimentId, Name, RunIds.ExperimentArtifactLocation(ExperimentId), Lifecycle, CreationTime, LastUpdateTime, Tags, DeletedTime);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RunDocument))]
[JsonSerializable(typeof(ExperimentDocument))]
[JsonSerializable(typeof(RunExtras))]
internal sealed partial class StorageJson : JsonSerializerContext;
