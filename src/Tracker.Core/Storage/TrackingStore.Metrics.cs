using Azure.Data.Tables;
using Tracker.Core.Tracking;

namespace Tracker.Core.Storage;

public sealed partial class TrackingStore
{
    /// <summary>One transaction holds at most 100 entities: the run row plus 99 history chunks.</summary>
    private const int MaxMetricKeysPerTransaction = 99;
    public const int MaxHistoryPageSize = 25000;
    public const int MaxBulkIntervalResults = 2500;
    public const int MaxBulkRunIds = 100;

    /// <summary>
    /// MLflow's log_batch: validate everything first, then write params, metrics and tags. Every write funnels here
    /// (log-metric, log-parameter and set-tag are batches of one). Normally one transaction; a batch spanning more than
    /// 99 metric keys takes one per 99 keys, each atomic, the whole safe to retry (exact duplicate points are one point).
    /// </summary>
    public async Task LogBatchAsync(
        string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValue> @params, IReadOnlyList<KeyValue> tags,
        CancellationToken ct = default, bool singleParamCall = false)
    {
        Validation.RunId(runId);
        Validation.BatchLimits(metrics.Count, @params.Count, tags.Count);
        foreach (var metric in metrics) Validation.Metric(metric);
        foreach (var param in @params) Validation.Param(param.Key, param.Value);
        foreach (var tag in tags) Validation.RunTag(tag.Key, tag.Value);
        Validation.NoDuplicateParamKeys(@params);

        var byKey = metrics.GroupBy(m => m.Key, StringComparer.Ordinal)
            .Select(g => (Key: g.Key, Points: g.Select(ToPoint).ToList()))
            .Chunk(MaxMetricKeysPerTransaction)
            .DefaultIfEmpty([])
            .ToList();
        for (var i = 0; i < byKey.Count; i++)
        {
            var group = byKey[i];
            var first = i == 0;
            await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                var changed = first && ApplyParams(doc, @params, singleParamCall);
                if (first)
                    foreach (var tag in tags)
                    {
                        doc.SetTag(tag.Key, tag.Value);
                        changed = true;
                    }
                var appends = AppendMetrics(doc, group);
                return changed || appends.Count > 0 ? appends : null;
            }, ct);
        }
    }

    /// <summary>MLflow stores ±∞ as ±1.7976931348623157e308 (the largest double).</summary>
    private static MetricPoint ToPoint(Metric m) => new(m.Step, m.Timestamp, m.Value switch
    {
        double.PositiveInfinity => double.MaxValue,
        double.NegativeInfinity => double.MinValue,
        var v => v,
    });

    private static bool ApplyParams(RunDocument doc, IReadOnlyList<KeyValue> @params, bool singleParamCall)
    {
        var changed = false;
        var conflicts = new List<(KeyValue Old, string New)>();
        foreach (var param in @params)
        {
            var existing = doc.Params.Find(p => p.Key == param.Key);
            if (existing is null)
            {
                doc.AddParam(param);
                changed = true;
            }
            else if (existing.Value != param.Value)
            {
                conflicts.Add((existing, param.Value));
            }
        }
        if (conflicts.Count == 0) return changed;
        if (singleParamCall)
            throw MlflowException.InvalidParameter(
                $"Changing param values is not allowed. Param with key='{conflicts[0].Old.Key}' was already logged with value='{conflicts[0].Old.Value}' for run ID='{doc.RunId}'. Attempted logging new value '{conflicts[0].New}'.");
        var listed = string.Join(", ", conflicts.Select(c => $"{{'key': '{c.Old.Key}', 'old_value': '{c.Old.Value}', 'new_value': '{c.New}'}}"));
        throw MlflowException.InvalidParameter(
            $"Changing param values is not allowed. Params were already logged='[{listed}]' for run ID='{doc.RunId}'.");
    }

    /// <summary>Updates the latest values and returns one chunk append per key, each a new property on the key's open chunk.</summary>
    private static List<TableTransactionAction> AppendMetrics(RunDocument doc, IReadOnlyList<(string Key, List<MetricPoint> Points)> group)
    {
        var appends = new List<TableTransactionAction>(group.Count);
        foreach (var (key, points) in group)
        {
            var state = doc.FindMetric(key);
            var start = 0;
            if (state is null)
            {
                state = new MetricState { Key = key, Value = points[0].Value, Timestamp = points[0].Timestamp, Step = points[0].Step };
                doc.Metrics.Add(state);
                start = 1;
            }
            for (var i = start; i < points.Count; i++)
                if (IsLater(points[i], state))
                    (state.Value, state.Timestamp, state.Step) = (points[i].Value, points[i].Timestamp, points[i].Step);

            var bytes = MetricPoints.Encode(points);
            if (state.Groups >= MetricPoints.MaxGroupsPerChunk || state.Bytes + bytes.Length > MetricPoints.MaxBytesPerChunk)
                (state.Chunk, state.Groups, state.Bytes) = (state.Chunk + 1, 0, 0);
            var chunk = new TableEntity(doc.ExperimentId, MetricPoints.ChunkRow(doc.RunId, key, state.Chunk))
            {
                ["K"] = key,
                [MetricPoints.GroupProperty(state.Groups)] = bytes,
                // N is committed with the group, so readers never see a group whose transaction failed.
                ["N"] = state.Groups + 1,
            };
            state.Groups++;
            state.Bytes += bytes.Length;
            appends.Add(new TableTransactionAction(TableTransactionActionType.UpsertMerge, chunk));
        }
        return appends;

        // MLflow's latest metric: the largest (step, timestamp, value), NaN counting as 0.
        static bool IsLater(MetricPoint p, MetricState s)
        {
            if (p.Step != s.Step) return p.Step > s.Step;
            if (p.Timestamp != s.Timestamp) return p.Timestamp > s.Timestamp;
            return p.ComparableValue > (double.IsNaN(s.Value) ? 0 : s.Value);
        }
    }

    /// <summary>The whole history of one metric in MLflow's order, exact duplicates removed.</summary>
    private async Task<List<MetricPoint>> ReadHistoryAsync(string runId, string key, Comparison<MetricPoint> order, CancellationToken ct)
    {
        var points = new List<MetricPoint>();
        if (RunIds.ExperimentOf(runId) is not { } experimentId) return points;
        await EnsureInitializedAsync();
        var prefix = MetricPoints.ChunkPrefix(runId, key);
        var filter = Filter($"PartitionKey eq {experimentId} and RowKey ge {prefix} and RowKey lt {MetricPoints.PrefixEnd(prefix)}");
        await foreach (var chunk in _runs.QueryAsync<TableEntity>(filter, cancellationToken: ct).WithTransientErrors())
        {
            if (chunk.GetString("K") != key) continue; // a 128-bit hash collision would land here
            var groups = chunk.GetInt32("N") ?? 0;
            for (var g = 0; g < groups; g++)
                if (chunk.GetBinary(MetricPoints.GroupProperty(g)) is { } bytes)
                    MetricPoints.Decode(bytes, points);
        }
        points.Sort(order);
        var write = 0;
        for (var read = 0; read < points.Count; read++)
            if (write == 0 || !points[read].SameAs(points[write - 1]))
                points[write++] = points[read];
        points.RemoveRange(write, points.Count - write);
        return points;
    }

    public async Task<Page<Metric>> GetMetricHistoryAsync(
        string runId, string key, int? maxResults, string? pageToken, CancellationToken ct = default)
    {
        if (maxResults is < 0)
            throw MlflowException.InvalidParameter($"Invalid value {maxResults} for parameter 'max_results' supplied. It must be a positive integer.");
        var offset = PageToken.Decode(pageToken);
        var points = await ReadHistoryAsync(runId, key, MetricPoint.HistoryOrder, ct);
        // MLflow: an absent or zero max_results returns everything, unpaged.
        var size = maxResults is null or 0 ? Math.Max(points.Count - offset, 0) : maxResults.Value;
        var page = points.Skip(offset).Take(size).Select(p => new Metric(key, p.Value, p.Timestamp, p.Step)).ToList();
        return new Page<Metric>(page, PageToken.Next(offset, size, points.Count));
    }

    /// <summary>
    /// MLflow's get-history-bulk-interval (handlers.py): sample at most <paramref name="maxResults"/> steps spread over
    /// all runs' steps in range, always keeping each run's first and last step, and return every point at those steps.
    /// </summary>
    public async Task<IReadOnlyList<RunMetric>> GetMetricHistoryBulkIntervalAsync(
        IReadOnlyList<string> runIds, string key, long? startStep, long? endStep, int maxResults, CancellationToken ct = default)
    {
        if (runIds.Count == 0) throw MlflowException.MissingParameter("run_ids");
        if (runIds.Count > MaxBulkRunIds)
            throw MlflowException.InvalidParameter($"GetMetricHistoryBulkInterval request must specify at most {MaxBulkRunIds} run_ids. Received {runIds.Count} run_ids.");
        if (maxResults is < 1 or > MaxBulkIntervalResults)
            throw MlflowException.InvalidParameter($"max_results must be between 1 and {MaxBulkIntervalResults}.");
        if ((startStep is null) != (endStep is null))
            throw MlflowException.InvalidParameter("If either start step or end step are specified, both must be specified.");
        if (startStep > endStep)
            throw MlflowException.InvalidParameter($"end_step must be greater than start_step. Found start_step={startStep} and end_step={endStep}.");

        var histories = await Task.WhenAll(runIds.Select(id => ReadHistoryAsync(id, key, MetricPoint.StepOrder, ct)));
        var allSteps = histories.SelectMany(h => h.Select(p => p.Step)).Distinct().Order().ToList();
        var start = startStep ?? 0;
        var end = endStep ?? (allSteps.Count > 0 ? allSteps[^1] : 0);
        var steps = SampleSteps(start, end, maxResults, allSteps);
        foreach (var history in histories.Where(h => h.Count > 0))
            foreach (var edge in new[] { history[0].Step, history[^1].Step })
                if (edge >= start && edge <= end) steps.Add(edge);

        var result = new List<RunMetric>();
        for (var i = 0; i < runIds.Count; i++)
            result.AddRange(histories[i]
                .Where(p => steps.Contains(p.Step))
                .Take(MaxHistoryPageSize)
                .Select(p => new RunMetric(runIds[i], new Metric(key, p.Value, p.Timestamp, p.Step))));
        return result;
    }

    /// <summary>handlers._get_sampled_steps_from_steps; <paramref name="allSteps"/> is sorted.</summary>
    internal static HashSet<long> SampleSteps(long start, long end, int maxResults, List<long> allSteps)
    {
        var from = LowerBound(allSteps, start);
        var to = end == long.MaxValue ? allSteps.Count : LowerBound(allSteps, end + 1);
        var count = to - from;
        if (count <= maxResults) return allSteps.GetRange(from, count).ToHashSet();
        var interval = (double)count / maxResults;
        var sampled = new HashSet<long>();
        for (var i = 0; i < maxResults; i++)
        {
            var index = from + (int)(i * interval);
            if (index < to) sampled.Add(allSteps[index]);
        }
        sampled.Add(allSteps[to - 1]);
        return sampled;

        static int LowerBound(List<long> sorted, long value)
        {
            var i = sorted.BinarySearch(value);
            if (i < 0) return ~i;
            while (i > 0 && sorted[i - 1] == value) i--;
            return i;
        }
    }
}
