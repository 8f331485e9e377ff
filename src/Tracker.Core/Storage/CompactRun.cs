using System.Text.Json;
using System.Text.Json.Serialization;
using Tracker.Core.Search;
using Tracker.Core.Tracking;

namespace Tracker.Core.Storage;

/// <summary>
/// A run as the search cache holds it (issue 11: 100,000 runs per experiment must fit a small instance). Immutable, so
/// a search can filter and page over runs while a refresh replaces others. Keys and repeated values are shared through
/// the experiment's <see cref="StringPool"/>, params and tags are flat key/value arrays, metrics a struct array, and the
/// rare dataset inputs and model outputs stay as the bytes of their JSON until a filter or a page asks for them.
/// It answers every field <see cref="RunDocument.ToRun"/> returns without model inputs (what a search page carries).
/// </summary>
internal sealed class CompactRun : ISearchableRun
{
    private const long NoTime = long.MinValue;

    private readonly string[] _params; // key, value, key, value, …
    private readonly string[] _tags;
    private readonly CompactMetric[] _metrics;
    private readonly byte[]? _extras; // UTF-8 JSON of RunExtras, null when the run has neither inputs nor outputs
    private readonly long _endTime, _deletedTime;

    public CompactRun(
        string runId, string experimentId, string runName, string userId, string status, string lifecycle,
        long startTime, long? endTime, long? deletedTime,
        string[] @params, string[] tags, CompactMetric[] metrics, byte[]? extras)
    {
        RunId = runId;
        ExperimentId = experimentId;
        RunName = runName;
        UserId = userId;
        Status = status;
        Lifecycle = lifecycle;
        StartTime = startTime;
        _endTime = endTime ?? NoTime;
        _deletedTime = deletedTime ?? NoTime;
        _params = @params.Length == 0 ? [] : @params;
        _tags = tags.Length == 0 ? [] : tags;
        _metrics = metrics.Length == 0 ? [] : metrics;
        _extras = extras is { Length: > 0 } ? extras : null;
    }

    /// <summary>The searchable part of <paramref name="doc"/>, its strings shared through <paramref name="pool"/>.</summary>
    public static CompactRun From(RunDocument doc, StringPool pool)
    {
        var @params = new string[doc.Params.Count * 2];
        for (var i = 0; i < doc.Params.Count; i++)
        {
            @params[2 * i] = pool.Intern(doc.Params[i].Key);
            @params[2 * i + 1] = pool.Intern(doc.Params[i].Value);
        }
        var tags = new string[doc.Tags.Count * 2];
        for (var i = 0; i < doc.Tags.Count; i++)
        {
            tags[2 * i] = pool.Intern(doc.Tags[i].Key);
            tags[2 * i + 1] = pool.Intern(doc.Tags[i].Value);
        }
        var metrics = doc.Metrics.Select(m => new CompactMetric(pool.Intern(m.Key), m.Value, m.Timestamp, m.Step)).ToArray();
        var extras = doc.Inputs.Count == 0 && doc.ModelOutputs.Count == 0
            ? null
            : JsonSerializer.SerializeToUtf8Bytes(new RunExtras { Inputs = doc.Inputs, ModelOutputs = doc.ModelOutputs }, StorageJson.Default.RunExtras);
        return new CompactRun(
            doc.RunId, pool.Intern(doc.ExperimentId), pool.Intern(doc.RunName), pool.Intern(doc.UserId), pool.Intern(doc.Status),
            pool.Intern(doc.Lifecycle), doc.StartTime, doc.EndTime, doc.DeletedTime, @params, tags, metrics, extras);
    }

    /// <summary>The same run with its strings held by <paramref name="pool"/> (a view dropping strings no run uses).</summary>
    public CompactRun Repooled(StringPool pool) => new(
        RunId, pool.Intern(ExperimentId), pool.Intern(RunName), pool.Intern(UserId), pool.Intern(Status), pool.Intern(Lifecycle),
        StartTime, EndTime, DeletedTime, Array.ConvertAll(_params, pool.Intern), Array.ConvertAll(_tags, pool.Intern),
        Array.ConvertAll(_metrics, m => m with { Key = pool.Intern(m.Key) }), _extras);

    public string RunId { get; }
    public string ExperimentId { get; }
    public string RunName { get; }
    public string UserId { get; }
    public string Status { get; }
    public string Lifecycle { get; }
    public long StartTime { get; }
    public long? EndTime => _endTime == NoTime ? null : _endTime;
    public long? DeletedTime => _deletedTime == NoTime ? null : _deletedTime;
    public string ArtifactUri => RunIds.ArtifactUri(ExperimentId, RunId);

    /// <summary>Key/value pairs, flat (for the snapshot codec).</summary>
    internal ReadOnlySpan<string> ParamPairs => _params;
    internal ReadOnlySpan<string> TagPairs => _tags;
    internal ReadOnlySpan<CompactMetric> Metrics => _metrics;
    internal ReadOnlySpan<byte> Extras => _extras;

    public string? Param(string key) => Find(_params, key);
    public string? Tag(string key) => Find(_tags, key);

    public double? LatestMetric(string key)
    {
        foreach (var m in _metrics)
            if (string.Equals(m.Key, key, StringComparison.Ordinal)) return m.Value;
        return null;
    }

    public IReadOnlyList<SearchableDataset> Datasets => ReadExtras()?.Inputs
        .Select(i => new SearchableDataset(i.Dataset.Name, i.Dataset.Digest, i.Tags.FirstOrDefault(t => t.Key == MlflowTags.DatasetContext)?.Value))
        .ToList() ?? [];

    /// <summary>What <c>RunDocument.ToRun()</c> returns for the same run, model inputs left out (MLflow's search_runs).</summary>
    public Run ToRun()
    {
        var extras = ReadExtras();
        return new Run(
            new RunInfo(RunId, ExperimentId, RunName, UserId, Status, StartTime, EndTime, ArtifactUri, Lifecycle, DeletedTime),
            _metrics.Select(m => new Metric(m.Key, m.Value, m.Timestamp, m.Step)).ToList(),
            Pairs(_params),
            Pairs(_tags),
            extras?.Inputs ?? [],
            [],
            extras?.ModelOutputs ?? []);
    }

    /// <summary>
    /// What this run costs in memory beyond the pool's shared strings: the object, its arrays, its own strings (the run
    /// id, and values too long to pool) and its slot in the view's dictionary. 64-bit CLR layouts.
    /// </summary>
    public long EstimatedBytes
    {
        get
        {
            // header 16, ten references 80, three longs 24; a Dictionary<string, CompactRun> entry and bucket 28.
            long bytes = 120 + 28 + StringPool.StringBytes(RunId) + RefArrayBytes(_params.Length) + RefArrayBytes(_tags.Length);
            if (_metrics.Length > 0) bytes += 24 + 32L * _metrics.Length;
            if (_extras is not null) bytes += 24 + ((_extras.Length + 7) & ~7);
            foreach (var s in _params) bytes += StringPool.UnpooledBytes(s);
            foreach (var s in _tags) bytes += StringPool.UnpooledBytes(s);
            return bytes + StringPool.UnpooledBytes(RunName);
        }
    }

    private static long RefArrayBytes(int length) => length == 0 ? 0 : 24 + 8L * length;

    private static string? Find(string[] pairs, string key)
    {
        for (var i = 0; i < pairs.Length; i += 2)
            if (string.Equals(pairs[i], key, StringComparison.Ordinal)) return pairs[i + 1];
        return null;
    }

    private static List<KeyValue> Pairs(string[] pairs)
    {
        var list = new List<KeyValue>(pairs.Length / 2);
        for (var i = 0; i < pairs.Length; i += 2) list.Add(new KeyValue(pairs[i], pairs[i + 1]));
        return list;
    }

    private RunExtras? ReadExtras() => _extras is null ? null : JsonSerializer.Deserialize(_extras, StorageJson.Default.RunExtras);
}

/// <summary>A metric's latest value, timestamp and step (32 bytes in an array).</summary>
internal readonly record struct CompactMetric(string Key, double Value, long Timestamp, long Step);

/// <summary>A run's dataset inputs and model outputs: rare, so a compact run keeps them as JSON bytes.</summary>
internal sealed class RunExtras
{
    public List<DatasetInput> Inputs { get; set; } = [];
    public List<ModelOutput> ModelOutputs { get; set; } = [];
}
