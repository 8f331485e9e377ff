using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

/// <summary>
/// Where a run's metric history lives, how it is compacted, read and purged (the rows' packing: <see cref="MetricPoints"/>).
///
/// History rows are in the runs table, in the run's experiment partition, keyed <c>h:{runId}:u:{unique}</c> (one per
/// logged batch or flushed run-row buffer) and <c>h:{runId}:c:{unique}</c> (compacted). Being in the run row's
/// partition, a log-batch's history rows go in the same entity-group transaction as the run row and its change row: one
/// storage request, atomic (issue 11).
///
/// Migration: runs created before this layout kept their history in table <c>{prefix}metrics</c>, partition = run id,
/// rows <c>u:…</c> and <c>c:…</c>. A run created since carries <c>historyLayout: 2</c> in its document
/// (<see cref="RunDocument.CurrentHistoryLayout"/>) and is read from the runs table only; a run without it is read from
/// both places, and its new points go to the new place. A write by an instance that predates the marker drops it (it
/// rewrites the document without it), so "read both" is the safe default. Compaction folds both places' batch rows into
/// the new place; the purge deletes both.
/// </summary>
public sealed partial class TrackingStore
{
    private const string HistoryRowPrefix = "h:";

    /// <summary>One place a run's history rows are: a table's partition, and the row-key prefix before <c>u:</c>/<c>c:</c>.</summary>
    private readonly record struct HistoryPlace(TableClient Table, string Partition, string RowPrefix)
    {
        public string Rows(string kind) => RowPrefix + kind;
    }

    /// <summary>Where new history rows of <paramref name="runId"/> go.</summary>
    private HistoryPlace NewHistoryPlace(string experimentId, string runId) => new(_runs, experimentId, $"{HistoryRowPrefix}{runId}:");

    /// <summary>Before <c>historyLayout: 2</c>: table <c>{prefix}metrics</c>, partition = run id.</summary>
    private HistoryPlace OldHistoryPlace(string runId) => new(_metrics, runId, "");

    /// <summary>The places that may hold the run's history, the old one first (see <see cref="ReadHistoryAsync"/> for why).</summary>
    private HistoryPlace[] HistoryPlaces(string experimentId, string runId, int historyLayout) =>
        historyLayout >= RunDocument.CurrentHistoryLayout
            ? [NewHistoryPlace(experimentId, runId)]
            : [OldHistoryPlace(runId), NewHistoryPlace(experimentId, runId)];

    /// <summary>
    /// History rows holding the given points, each key's packed into pieces; a key that outgrows a row continues in
    /// the next one, numbering its pieces afresh, so every row reads on its own.
    /// </summary>
    private static List<TableEntity> BatchRows(HistoryPlace place, Dictionary<string, List<MetricPoint>> byKeyProperty, string kind = MetricPoints.BatchRowPrefix)
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
                    rows.Add(row = new TableEntity(place.Partition, place.Rows(kind) + MetricPoints.UniqueSuffix()));
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

    /// <summary>
    /// Which of a batch's history rows go in the run row's transaction (with the run row and its change row), and which
    /// must be written before it because the transaction would pass Azure's limits (100 actions, 4 MiB). The latter
    /// should never happen in practice: a log-batch holds at most 1,000 metrics, which pack into one row of about
    /// 11–28 KB (or, 1,000 different keys, five small rows); it would take a run row near its 1 MiB with the largest
    /// batch rows. Written first, such rows are durable before the run row changes, as batch rows always were before
    /// history shared the run's partition; a commit that then fails leaves them as exact duplicates of a retry's points.
    /// </summary>
    internal static (List<TableEntity> InTransaction, List<TableEntity> First) FitTransaction(TableEntity runRow, IReadOnlyList<TableEntity> historyRows)
    {
        var room = MaxTransactionEntityBytes - EstimatedBytes(runRow) - EstimatedBytes(new TableEntity()); // the change row
        var slots = MaxTransactionActions - 2;
        var (inTransaction, first) = (new List<TableEntity>(), new List<TableEntity>());
        foreach (var row in historyRows)
        {
            var bytes = EstimatedBytes(row);
            if (slots > 0 && bytes <= room)
            {
                inTransaction.Add(row);
                (slots, room) = (slots - 1, room - bytes);
            }
            else first.Add(row);
        }
        return (inTransaction, first);
    }

    /// <summary>Rows written on their own (compacted rows, and a batch's rows that do not fit its transaction), each a
    /// single insert: a large transaction body is slower than the same rows sent side by side.</summary>
    private async Task WriteHistoryRowsAsync(IEnumerable<TableEntity> rows, CancellationToken ct) =>
        await Task.WhenAll(rows.Select(row => StorageErrors.Call(() => _runs.AddEntityAsync(row, ct))));

    /// <summary>Counts new batch rows; the write that crosses the threshold claims the compaction (the ETag makes the
    /// claim exclusive).</summary>
    private bool CountHistoryRows(RunDocument doc, int rows)
    {
        doc.PendingHistoryRows += rows;
        if (doc.PendingHistoryRows < _historyRowsPerCompaction) return false;
        doc.PendingHistoryRows = 0;
        return true;
    }

    /// <summary>
    /// The batch is durable before compaction starts, so a failed compaction must not fail the request (the client
    /// would retry a write that succeeded). It only leaves more history rows, which read correctly, until the next one.
    /// </summary>
    private async Task TryCompactHistoryAsync(string experimentId, string runId, int historyLayout, CancellationToken ct)
    {
        try
        {
            await CompactHistoryAsync(experimentId, runId, historyLayout, ct);
        }
        catch (Exception e) when (e is RequestFailedException or MlflowException or OperationCanceledException)
        {
            // Cancelled too: the request's storage budget running out here must not turn a durable write into a 503.
            _logger.LogWarning(e, "Compacting the metric history of run {RunId} failed; it is retried at the next threshold", runId);
        }
    }

    /// <summary>
    /// Folds the run's batch rows (of both places for a run from before <c>historyLayout: 2</c>) into a few compacted
    /// rows of the new place, then deletes them, 100 per transaction (each place is one partition): a handful of requests
    /// however many keys. Safe to interrupt or repeat: until the deletes, a point is in both places, and readers drop
    /// exact duplicates.
    /// </summary>
    private async Task CompactHistoryAsync(string experimentId, string runId, int historyLayout, CancellationToken ct)
    {
        var places = HistoryPlaces(experimentId, runId, historyLayout);
        var batchRows = await Task.WhenAll(places.Select(place => QueryHistoryRowsAsync(place, MetricPoints.BatchRowPrefix, null, ct)));
        if (batchRows.All(rows => rows.Count == 0)) return;

        var byKey = new Dictionary<string, List<MetricPoint>>(StringComparer.Ordinal);
        foreach (var row in batchRows.SelectMany(rows => rows))
            foreach (var (name, value) in row)
                if (name.StartsWith('h') && value is byte[] piece)
                {
                    var key = MetricPoints.KeyPropertyOf(name);
                    if (!byKey.TryGetValue(key, out var points)) byKey[key] = points = [];
                    MetricPoints.Unpack(piece, points);
                }
        await WriteHistoryRowsAsync(BatchRows(NewHistoryPlace(experimentId, runId), byKey, MetricPoints.CompactedRowPrefix), ct);
        for (var i = 0; i < places.Length; i++)
            foreach (var deletes in batchRows[i].Chunk(100))
                await StorageErrors.Call(() => places[i].Table.SubmitTransactionAsync(
                    deletes.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All)), ct));
    }

    /// <summary>One kind (<c>u:</c> or <c>c:</c>) of history rows of one place, with all or only the given properties.</summary>
    private async Task<List<TableEntity>> QueryHistoryRowsAsync(HistoryPlace place, string kind, IEnumerable<string>? select, CancellationToken ct)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in place.Table.QueryAsync<TableEntity>(
                           RowsWithPrefix(place.Partition, place.Rows(kind)), select: select, cancellationToken: ct).WithTransientErrors())
            rows.Add(row);
        return rows;
    }

    private sealed record ReadHistory(ETag ETag, List<MetricPoint> Points);

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
    /// buffer → batch rows → compacted rows, each move writing the new place before (or, buffer → batch rows, in the
    /// same transaction as) clearing the old, and an old run's batch rows move into the new place's compacted rows.
    /// Reading in that same order — the run row, then every place's batch rows, then every place's compacted rows — a
    /// point on the move is seen twice (and deduplicated), never missed.
    /// </summary>
    /// <remarks>
    /// With <paramref name="reuse"/> (charts: the same history drawn again and again), a history read earlier is
    /// answered again while the run row's ETag is the one it was read under: every write that adds points changes the
    /// run row (buffered points live in it; batch rows are written in its transaction or just before it), and a
    /// compaction only moves points. The result is then shared: the caller must not change it.
    /// </remarks>
    private async Task<List<MetricPoint>> ReadHistoryAsync(string runId, string key, Comparison<MetricPoint> order, CancellationToken ct, bool reuse = false)
    {
        var points = new List<MetricPoint>();
        if (RunIds.ExperimentOf(runId) is not { } experimentId) return points;
        await EnsureInitializedAsync(ct);
        var pieces = MetricPoints.PieceProperties(MetricPoints.KeyProperty(key));

        var row = await StorageErrors.Call(() => _runs.GetEntityIfExistsAsync<TableEntity>(experimentId, RunRow(runId), cancellationToken: ct));
        var cacheKey = $"{runId}\n{key}\n{order.Method.Name}";
        if (reuse && row.HasValue && _historyReads.TryGetValue(cacheKey, out ReadHistory? earlier) && earlier!.ETag == row.Value!.ETag)
            return earlier.Points;
        var historyLayout = 0; // unknown: read both places
        if (row.HasValue)
        {
            PointBuffer.From(row.Value!).CollectPoints(key, points);
            // A spilled document is not in the row; reading both places is right for any run, only one request more.
            if (SpillOf(row.Value!).Length == 0 && !IsTombstone(row.Value!))
                historyLayout = RunDocument.HistoryLayoutOf(DocumentColumns.Read(row.Value!));
        }
        var places = HistoryPlaces(experimentId, runId, historyLayout);
        foreach (var kind in new[] { MetricPoints.BatchRowPrefix, MetricPoints.CompactedRowPrefix })
            foreach (var rows in await Task.WhenAll(places.Select(place => QueryHistoryRowsAsync(place, kind, pieces, ct))))
                points.AddRange(PointsOf(rows, pieces[0]));

        points.Sort(order);
        var write = 0;
        for (var read = 0; read < points.Count; read++)
            if (write == 0 || !points[read].SameAs(points[write - 1]))
                points[write++] = points[read];
        points.RemoveRange(write, points.Count - write);
        if (reuse && row.HasValue)
            _historyReads.Set(cacheKey, new ReadHistory(row.Value!.ETag, points), new MemoryCacheEntryOptions
            {
                Size = 64 + points.Count * 24L,
                SlidingExpiration = TimeSpan.FromMinutes(5),
            });
        return points;
    }
}
