using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
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
    /// under its ETag, its read usually saved by a cache. A small batch's points ride along in the run row's buffer:
    /// one storage request. A larger batch's points go into a history row of their own, written concurrently: two.
    /// A retry after a lost answer only repeats points exactly, and exact duplicates are one point to readers.
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
            await MutateRunAsync(runId, doc =>
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

                if (metrics.Count > PointBuffer.MaxBatchPoints)
                {
                    var own = BatchRows(runId, byKey.ToDictionary(k => MetricPoints.KeyProperty(k.Key), k => k.Points, StringComparer.Ordinal));
                    compact = CountHistoryRows(doc, own.Count);
                    return new RunChange(true, WriteAlongside: () => WriteHistoryRowsAsync(own, ct));
                }
                doc.Buffer.Add(byKey);
                if (!doc.Buffer.IsFull) return true;
                // The buffer leaves the row only once its points are durable in batch rows.
                var flushed = BatchRows(runId, doc.Buffer.TakeAll());
                compact = CountHistoryRows(doc, flushed.Count);
                return new RunChange(true, WriteFirst: () => WriteHistoryRowsAsync(flushed, ct));
            }, ct);
            if (compact) await TryCompactHistoryAsync(runId, ct);
        }, ct);

    /// <summary>
    /// The batch is durable before compaction starts, so a failed compaction must not fail the request (the client
    /// would retry a write that succeeded). It only leaves more history rows, which read correctly, until the next one.
    /// </summary>
    private async Task TryCompactHistoryAsync(string runId, CancellationToken ct)
    {
        try
        {
            await CompactHistoryAsync(runId, ct);
        }
        catch (Exception e) when (e is RequestFailedException or MlflowException or OperationCanceledException)
        {
            // Cancelled too: the request's storage budget running out here must not turn a durable write into a 503.
            _logger.LogWarning(e, "Compacting the metric history of run {RunId} failed; it is retried at the next threshold", runId);
        }
    }

    /// <summary>Counts new batch rows; the write that crosses the threshold claims the compaction (the ETag makes the
    /// claim exclusive).</summary>
    private bool CountHistoryRows(RunDocument doc, int rows)
    {
        doc.PendingHistoryRows += rows;
        if (doc.PendingHistoryRows < _historyRowsPerCompaction) return false;
        doc.PendingHistoryRows = 0;
        return true;
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
    /// History rows holding the given points, each key's packed into pieces; a key that outgrows a row continues in
    /// the next one, numbering its pieces afresh, so every row reads on its own.
    /// </summary>
    private static List<TableEntity> BatchRows(string runId, Dictionary<string, List<MetricPoint>> byKeyProperty, string prefix = MetricPoints.BatchRowPrefix)
    {
        var rows = new List<TableEntity>();
        TableEntity? row = null;
        var (properties, bytes) = (0, 0);
        var pieceOfKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (property, points) in byKeyProperty)
        {
            foreach (var piece in MetricPoints.PackPieces(points))
            {
                if (row is null || properties == MetricPoints.MaxPropertiesPerBatchRow || bytes + piece.Length > MetricPoints.MaxBytesPerRow ||
                    pieceOfKey.GetValueOrDefault(property) == MetricPoints.MaxPiecesPerKey)
                {
                    rows.Add(row = new TableEntity(runId, prefix + MetricPoints.UniqueSuffix()));
                    (properties, bytes) = (0, 0);
                    pieceOfKey.Clear();
                }
                var index = pieceOfKey.GetValueOrDefault(property);
                row[MetricPoints.PieceProperties(property)[index]] = piece;
                pieceOfKey[property] = index + 1;
                (properties, bytes) = (properties + 1, bytes + piece.Length);
            }
        }
        return rows;
    }

    private async Task WriteHistoryRowsAsync(List<TableEntity> rows, CancellationToken ct) =>
        await Task.WhenAll(rows.Select(row => StorageErrors.Call(() => _metrics.AddEntityAsync(row, ct))));

    /// <summary>
    /// Folds the run's batch rows into a few compacted rows of the same shape, then deletes them: a handful of
    /// requests however many keys. Safe to interrupt or repeat: until the deletes, a point is in both places, and
    /// readers drop exact duplicates.
    /// </summary>
    private async Task CompactHistoryAsync(string runId, CancellationToken ct)
    {
        var batchRows = new List<TableEntity>();
        await foreach (var row in _metrics.QueryAsync<TableEntity>(
                           RowsWithPrefix(runId, MetricPoints.BatchRowPrefix),
                           cancellationToken: ct).WithTransientErrors())
            batchRows.Add(row);
        if (batchRows.Count == 0) return;

        var byKey = new Dictionary<string, List<MetricPoint>>(StringComparer.Ordinal);
        foreach (var row in batchRows)
            foreach (var (name, value) in row)
                if (name.StartsWith('h') && value is byte[] piece)
                {
                    var key = MetricPoints.KeyPropertyOf(name);
                    if (!byKey.TryGetValue(key, out var points)) byKey[key] = points = [];
                    MetricPoints.Unpack(piece, points);
                }
        await WriteHistoryRowsAsync(BatchRows(runId, byKey, MetricPoints.CompactedRowPrefix), ct);
        foreach (var deletes in batchRows.Chunk(100))
            await StorageErrors.Call(() => _metrics.SubmitTransactionAsync(
                deletes.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All)), ct));
    }

    private static List<MetricPoint> PointsOf(IEnumerable<TableEntity> rows, string keyProperty)
    {
        var points = new List<MetricPoint>();
        var pieces = MetricPoints.PieceProperties(keyProperty);
        foreach (var row in rows)
            foreach (var piece in pieces)
                if (row.GetBinary(piece) is { } bytes) MetricPoints.Unpack(bytes, points);
        return points;
    }

    /// <summary>
    /// The whole history of one metric in the given order, exact duplicates removed. Points move one way: run-row
    /// buffer → batch rows → compacted rows, each move writing the new place before clearing the old. Reading the
    /// places in that same order means a point on the move is seen twice (and deduplicated), never missed.
    /// </summary>
    private async Task<List<MetricPoint>> ReadHistoryAsync(string runId, string key, Comparison<MetricPoint> order, CancellationToken ct)
    {
        var points = new List<MetricPoint>();
        if (RunIds.ExperimentOf(runId) is null) return points;
        await EnsureInitializedAsync(ct);
        var pieces = MetricPoints.PieceProperties(MetricPoints.KeyProperty(key));
        points.AddRange(await ReadBufferedAsync(runId, key, ct));
        foreach (var prefix in new[] { MetricPoints.BatchRowPrefix, MetricPoints.CompactedRowPrefix })
        {
            var rows = new List<TableEntity>();
            await foreach (var row in _metrics.QueryAsync<TableEntity>(
                               RowsWithPrefix(runId, prefix),
                               select: pieces, cancellationToken: ct).WithTransientErrors())
                rows.Add(row);
            points.AddRange(PointsOf(rows, pieces[0]));
        }

        points.Sort(order);
        var write = 0;
        for (var read = 0; read < points.Count; read++)
            if (write == 0 || !points[read].SameAs(points[write - 1]))
                points[write++] = points[read];
        points.RemoveRange(write, points.Count - write);
        return points;
    }

    /// <summary>The key's points still in the run row's buffer.</summary>
    private async Task<List<MetricPoint>> ReadBufferedAsync(string runId, string key, CancellationToken ct)
    {
        var points = new List<MetricPoint>();
        var row = await StorageErrors.Call(() => _runs.GetEntityIfExistsAsync<TableEntity>(RunIds.ExperimentOf(runId)!, RunRow(runId), cancellationToken: ct));
        if (row.HasValue) PointBuffer.From(row.Value!).CollectPoints(key, points);
        return points;
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
        }, ct);

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
