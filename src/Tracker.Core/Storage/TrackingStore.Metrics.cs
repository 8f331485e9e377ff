using Microsoft.Extensions.Caching.Memory;
using Tracker.Core.Tracking;
using HistoryPage = Tracker.Core.Tracking.Page<Tracker.Core.Tracking.Metric>;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

public sealed partial class TrackingStore
{
    public const int MaxHistoryPageSize = 25000;
    public const int MaxBulkIntervalResults = 2500;
    public const int MaxBulkRunIds = 100;

    /// <summary>
    /// MLflow's log_batch: validate everything first, then write params, metrics and tags. Every write funnels here
    /// (log-metric, log-parameter and set-tag are batches of one). The run row (params, tags, latest metrics) is merged
    /// under its ETag, its read usually saved by a cache. A small batch's points ride along in the run row's buffer; a
    /// larger batch's points, or a buffer that filled up, go into history rows of the run's partition
    /// (TrackingStore.History) in the same entity-group transaction as the run row and its change row: every batch is
    /// one storage request, all or nothing. A retry after a lost answer only repeats points exactly, and exact
    /// duplicates are one point to readers.
    /// </summary>
    public Task LogBatchAsync(
        string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValue> @params, IReadOnlyList<KeyValue> tags,
        CancellationToken ct = default, bool singleParamCall = false) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            Validation.RunId(runId);
            Validation.BatchLimits(metrics.Count, @params.Count, tags.Count);
            foreach (var metric in metrics) Validation.Metric(metric);
            foreach (var param in @params) Validation.Param(param.Key, param.Value);
            foreach (var tag in tags) Validation.RunTag(tag.Key, tag.Value);
            Validation.NoDuplicateParamKeys(@params);

            var byKey = metrics.GroupBy(m => m.Key, StringComparer.Ordinal)
                .Select(g => (Key: g.Key, Points: g.Select(ToPoint).ToList()))
                .ToList();
            var compact = false;
            var run = await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                var changed = ApplyParams(doc, @params, singleParamCall);
                foreach (var tag in tags)
                {
                    doc.SetTag(tag.Key, tag.Value);
                    changed = true;
                }
                compact = false;
                if (byKey.Count == 0) return changed;
                foreach (var (key, points) in byKey) UpdateLatest(doc, key, points);

                var place = NewHistoryPlace(doc.ExperimentId, runId);
                if (metrics.Count > PointBuffer.MaxBatchPoints)
                {
                    var own = BatchRows(place, byKey.ToDictionary(k => MetricPoints.KeyProperty(k.Key), k => k.Points, StringComparer.Ordinal));
                    compact = CountHistoryRows(doc, own.Count);
                    return new RunChange(true, own);
                }
                doc.Buffer.Add(byKey);
                if (!doc.Buffer.IsFull) return true;
                // The buffer's points leave the row in the transaction that puts them in batch rows.
                var flushed = BatchRows(place, doc.Buffer.TakeAll());
                compact = CountHistoryRows(doc, flushed.Count);
                return new RunChange(true, flushed);
            }, ct);
            if (compact) await TryCompactHistoryAsync(run.ExperimentId, runId, run.HistoryLayout, ct);
        }, ct);

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
                doc.Params.Add(param);
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

    /// <summary>MLflow's latest metric: the largest (step, timestamp, value), NaN counting as 0.</summary>
    private static void UpdateLatest(RunDocument doc, string key, List<MetricPoint> points)
    {
        var state = doc.FindMetric(key);
        foreach (var p in points)
        {
            if (state is null)
            {
                state = new MetricState { Key = key, Value = p.Value, Timestamp = p.Timestamp, Step = p.Step };
                doc.Metrics.Add(state);
            }
            else if (IsLater(p, state))
            {
                (state.Value, state.Timestamp, state.Step) = (p.Value, p.Timestamp, p.Step);
            }
        }

        static bool IsLater(MetricPoint p, MetricState s)
        {
            if (p.Step != s.Step) return p.Step > s.Step;
            if (p.Timestamp != s.Timestamp) return p.Timestamp > s.Timestamp;
            return p.ComparableValue > (double.IsNaN(s.Value) ? 0 : s.Value);
        }
    }

    /// <summary>
    /// A page of one metric's history. The first page reads the whole history once; its continuation tokens name an
    /// in-memory snapshot, so the client's 25,000-point pages cost no further reads and see one consistent history.
    /// A token whose snapshot this instance does not hold (another instance, expired) reads afresh.
    /// </summary>
    public Task<HistoryPage> GetMetricHistoryAsync(
        string runId, string key, int? maxResults, string? pageToken, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (maxResults is < 0)
                throw MlflowException.InvalidParameter($"Invalid value {maxResults} for parameter 'max_results' supplied. It must be a positive integer.");
            var query = PageQuery.Of("metrics/get-history", [runId], [key]);
            var (offset, snapshot) = await ReadPageTokenAsync(_keys, pageToken, query, ct);
            if (snapshot is null || !_historySnapshots.TryGetValue(snapshot, out HistorySnapshot? cached) || cached is null ||
                cached.RunId != runId || cached.Key != key)
            {
                cached = new HistorySnapshot(runId, key, await ReadHistoryAsync(runId, key, MetricPoint.HistoryOrder, ct));
                snapshot = null;
            }
            var points = cached.Points;
            // MLflow: an absent or zero max_results returns everything, unpaged.
            var size = maxResults is null or 0 ? Math.Max(points.Count - offset, 0) : maxResults.Value;
            var page = points.Skip(offset).Take(size).Select(p => new Metric(key, p.Value, p.Timestamp, p.Step)).ToList();
            if (offset + size < points.Count && snapshot is null)
            {
                snapshot = Guid.NewGuid();
                _historySnapshots.Set(snapshot, cached, new MemoryCacheEntryOptions
                {
                    Size = (long)points.Count * MetricPoints.PointBytes + 256,
                    SlidingExpiration = TimeSpan.FromMinutes(2),
                });
            }
            return new HistoryPage(page, await NextPageTokenAsync(_keys, offset, size, points.Count, query, ct, snapshot));
        }, ct);

    private sealed record HistorySnapshot(string RunId, string Key, List<MetricPoint> Points);

    /// <summary>
    /// MLflow's get-history-bulk-interval (handlers.py): sample at most <paramref name="maxResults"/> steps spread over
    /// all runs' steps in range, always keeping each run's first and last step, and return every point at those steps.
    /// </summary>
    public Task<IReadOnlyList<RunMetric>> GetMetricHistoryBulkIntervalAsync(
        IReadOnlyList<string> runIds, string key, long? startStep, long? endStep, int maxResults, CancellationToken ct = default) =>
        WithinBudget<IReadOnlyList<RunMetric>>(_requestTimeout, async ct =>
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

            var histories = await Task.WhenAll(runIds.Select(id => ReadHistoryAsync(id, key, MetricPoint.StepOrder, ct, reuse: true)));
            var allSteps = DistinctSteps(histories);
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
        }, ct);

    /// <summary>The steps of all the histories (each in step order), sorted, each once.</summary>
    private static List<long> DistinctSteps(IReadOnlyList<List<MetricPoint>> histories)
    {
        var steps = new List<long>(histories.Sum(h => h.Count));
        foreach (var history in histories)
            foreach (var p in history)
                steps.Add(p.Step);
        if (histories.Count > 1) steps.Sort();
        var write = 0;
        for (var read = 0; read < steps.Count; read++)
            if (write == 0 || steps[read] != steps[write - 1])
                steps[write++] = steps[read];
        steps.RemoveRange(write, steps.Count - write);
        return steps;
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
