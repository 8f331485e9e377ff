using System.Collections.Concurrent;
using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

/// <summary>
/// The reading side of the change feed: what a search sees of an experiment's runs (issue 11 §1–2).
///
/// Each instance holds a <see cref="RunView"/> per experiment it searched: compact runs, a feed cursor and the change
/// rows it already applied (their <see cref="ChangeFeed.Identity"/>). A search first refreshes the view with ONE range
/// query over the experiment's change rows from the cursor (key and write id only, without OData metadata:
/// <see cref="KeysOnlyQueries"/>; cut into slices queried side by side when the feed is growing fast, see
/// <see cref="QueryFeedAsync"/>), then re-reads just the runs named by rows it has not applied (point reads, 16 at a
/// time; past <see cref="ScanAfterChangedRuns"/> runs, one scan of the run rows instead). The new cursor is storage's
/// time taken before that query minus <see cref="ChangeFeed.ReadMargin"/>, which is what keeps searches exact across
/// instances (see <see cref="ChangeFeed"/>).
///
/// Cold start: a view starts from the experiment's snapshot blob (<see cref="RunSnapshot"/>, one GET) and the feed's
/// tail since the snapshot's cursor. With no snapshot (a new experiment, or data written before the feed existed: the
/// migration happens here, on first touch) it scans the run rows once and writes a snapshot. Whoever sees the tail grow
/// past <see cref="SnapshotAfterChangeRows"/> change rows or <see cref="SnapshotAfterRunReads"/> re-read runs (or a
/// tenth, a fiftieth of the experiment's runs, whichever is more: a 100,000-run snapshot takes a second to encode), or
/// whose read from the snapshot's cursor found as many rows that a newer snapshot would skip (RunView.StaleTailRows),
/// writes a new snapshot in the background after answering, and so does a writer once the experiment has been quiet for
/// <see cref="QuietPeriod"/>, whenever the snapshot's tail holds any change row (see <see cref="NoteChangesWritten"/>).
/// It writes conditionally on the ETag it built on, so an older view never replaces a newer snapshot; it then prunes
/// change rows older than the snapshot's cursor minus <see cref="FeedPruneDelay"/>. A view idle for more than half that
/// delay reloads from the snapshot rather than trust a feed that may have been pruned under it.
///
/// The views live in a size-bounded cache (<see cref="StorageOptions.SearchCacheMegabytes"/>, sizes in estimated
/// bytes): an instance holding many big experiments evicts whole experiments, least recently searched first.
/// </summary>
public sealed partial class TrackingStore
{
    private const int ScanAfterChangedRuns = 500;
    private const int ParallelRunReads = 16;
    private const int MaxPrunedPerPass = 1000;
    private const int MaxPrunePasses = 10;
    private const string SnapshotCursorMetadata = "cursor";
    private const string SnapshotFeedRateMetadata = "feedrate";
    /// <summary>At most how many slices a read of the feed is cut into (see <see cref="QueryFeedAsync"/>).</summary>
    internal const int MaxFeedSlices = 8;
    private static readonly TimeSpan ViewIdleExpiry = TimeSpan.FromMinutes(10);
    /// <summary>A load's own budget (a first scan of a big experiment on Azurite takes about a minute per 150,000 runs).</summary>
    private static readonly TimeSpan LoadBudget = TimeSpan.FromMinutes(10);

    /// <summary>What a search reads of a run row: the document (or its spill generation) and the lifecycle.</summary>
    private static readonly string[] SearchColumns = ["PartitionKey", "RowKey", .. DocumentColumns.Selected, SpillProperty, "Lifecycle"];

    /// <summary>Change rows applied since the snapshot after which a new one is written.</summary>
    internal int SnapshotAfterChangeRows { get; set; } = 1000;
    /// <summary>Runs re-read since the snapshot after which a new one is written.</summary>
    internal int SnapshotAfterRunReads { get; set; } = 200;
    /// <summary>Change rows a slice of a feed read is cut to expect (a page holds 1,000).</summary>
    internal int FeedSliceRows { get; set; } = 800;
    /// <summary>Change rows this instance writes to an experiment before it refreshes its view of it (and so its snapshot).</summary>
    internal int RefreshAfterWrites { get; set; } = 1000;
    private readonly ConcurrentDictionary<string, int> _writtenSinceRefresh = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _backgroundRefreshes = new(StringComparer.Ordinal);
    /// <summary>How long an experiment this instance wrote to stays without writes before its view settles (see
    /// NoteChangesWritten): longer than <see cref="ChangeFeed.ReadMargin"/>, so the settled snapshot's tail is empty.</summary>
    internal TimeSpan QuietPeriod { get; set; } = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, long> _lastWrites = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _quietWatches = new(StringComparer.Ordinal);
    /// <summary>How long change rows are kept past the newest snapshot's cursor.</summary>
    internal TimeSpan FeedPruneDelay { get; set; } = TimeSpan.FromHours(1);

    private readonly MemoryCache _views;
    // The views this instance holds, by experiment id: the cache decides eviction, this map makes one view per
    // experiment (two first searches share it) and lets the diagnostics header add them up.
    private readonly ConcurrentDictionary<string, RunView> _liveViews = new(StringComparer.Ordinal);
    private readonly BlobContainerClient? _snapshots;
    private readonly string _snapshotPrefix;
    private readonly Lock _snapshotWritesGate = new();
    private Task _snapshotWrites = Task.CompletedTask;

    /// <summary>How many runs, and estimated bytes, this instance's search cache holds (the bench's diagnostics header).</summary>
    public (long Runs, long Bytes) SearchCacheStatistics()
    {
        long runs = 0, bytes = 0;
        foreach (var view in _liveViews.Values)
        {
            runs += view.Count;
            bytes += view.Bytes;
        }
        return (runs, bytes);
    }

    /// <summary>Refreshes the experiment's view and returns its runs that <paramref name="keep"/> accepts, with the
    /// view's version they were taken from. A snapshot is written after the answer once the tail has grown (a share of
    /// the runs, so a big experiment is not re-encoded for every few hundred changes), or, when <paramref name="settle"/>,
    /// for any tail at all.</summary>
    private async Task<(List<CompactRun> Runs, long Version)> CurrentRunsAsync(string experimentId, Func<CompactRun, bool> keep, CancellationToken ct, bool settle = false)
    {
        var view = _liveViews.GetOrAdd(experimentId, _ => new RunView());
        var matches = new List<CompactRun>();
        long version;
        bool snapshotDue;
        await view.Lock.WaitAsync(ct);
        try
        {
            await RefreshAsync(experimentId, view, ct);
            version = view.Version;
            foreach (var run in view.Runs.Values)
                if (keep(run)) matches.Add(run);
            // Not for an experiment without runs: its scan is one cheap query, and a search of any id (existing or
            // not) must not leave a blob behind.
            snapshotDue = _snapshots is not null && !view.SnapshotWriting && view.Count > 0 &&
                          (view.SnapshotMissing ||
                           view.ChangesSinceSnapshot > Math.Max(SnapshotAfterChangeRows, view.Count / 10) ||
                           view.RunsReadSinceSnapshot > Math.Max(SnapshotAfterRunReads, view.Count / 50) ||
                           view.StaleTailRows > Math.Max(SnapshotAfterChangeRows, view.Count / 10) ||
                           settle && (view.ChangesSinceSnapshot > 0 || view.RunsReadSinceSnapshot > 0 || view.NewestChangeAt >= view.SnapshotCursor));
            view.SnapshotWriting |= snapshotDue;
        }
        finally
        {
            view.Lock.Release();
        }
        KeepInCache(experimentId, view);
        if (snapshotDue) StartSnapshotWrite(experimentId, view);
        return (matches, version);
    }

    private async Task RefreshAsync(string experimentId, RunView view, CancellationToken ct)
    {
        var requestedAt = _time.GetTimestamp();
        FeedTail? tail = null;
        // Change rows older than the newest snapshot's cursor minus FeedPruneDelay may be gone: a view that last read
        // the feed longer ago than half that delay starts again from the snapshot.
        if (!view.Loaded || _time.GetElapsedTime(view.RefreshedAt) > FeedPruneDelay / 2)
        {
            // The load runs on its own budget: a request that stops waiting (its budget spent on a first scan of 100,000
            // runs) answers 503, and the client's retry finds the load finished or further along, never started over.
            LoadedRuns loaded;
            do
            {
                if (view.Loading is null)
                    using (ExecutionContext.SuppressFlow())
                        view.Loading = Task.Run(() => LoadAsync(experimentId));
                try
                {
                    loaded = await view.Loading.WaitAsync(ct);
                }
                catch (Exception) when (view.Loading is { IsCompleted: true, IsCompletedSuccessfully: false })
                {
                    view.Loading = null; // failed or out of its own budget: the next request tries again
                    throw;
                }
                view.Loading = null;
                // A load nobody picked up for that long may predate change rows pruned since: load again.
            } while (_time.GetElapsedTime(loaded.LoadedAt) > FeedPruneDelay / 2);
            view.Reset(loaded.Pool, loaded.Runs);
            view.Cursor = loaded.Cursor;
            view.SeenKeys = loaded.SeenKeys;
            view.SnapshotETag = loaded.SnapshotETag;
            view.SnapshotCursor = loaded.FromSnapshot ? loaded.Cursor : null;
            view.SnapshotMissing = !loaded.FromSnapshot;
            view.ChangesSinceSnapshot = view.RunsReadSinceSnapshot = 0;
            // The tail read during the load counts only if it was read after this request began (a load finished for a
            // request that gave up may be older): a search sees every change acknowledged before it started.
            if (loaded.Tail is { } read && read.StartedAt >= requestedAt) tail = read;
        }
        await ReadFeedAsync(experimentId, view, ct, tail);
    }

    /// <summary>The experiment's runs from its snapshot blob, or by a scan of the run rows when there is none to read.</summary>
    private async Task<LoadedRuns> LoadAsync(string experimentId)
    {
        using var budget = new CancellationTokenSource(LoadBudget);
        var ct = budget.Token;
        var (snapshot, pool, etag, tail) = await ReadSnapshotAsync(experimentId, ct);
        if (snapshot is not null)
            return new LoadedRuns(pool, snapshot.Runs, snapshot.Cursor, new HashSet<string>(snapshot.SeenKeys, StringComparer.Ordinal), etag,
                FromSnapshot: true, _time.GetTimestamp(), tail);
        // A change committed after the scan passed its run has a key at or after this start minus the margin.
        var start = await StorageNowAsync(ct);
        var (scannedPool, runs) = await ScanAsync(experimentId, ct);
        return new LoadedRuns(scannedPool, runs, start - ChangeFeed.ReadMargin, new HashSet<string>(StringComparer.Ordinal), etag,
            FromSnapshot: false, _time.GetTimestamp());
    }

    /// <summary>Every run row of the experiment, in range queries (tombstones left out); spilled runs add one query each.</summary>
    private async Task<(StringPool Pool, List<CompactRun> Runs)> ScanAsync(string experimentId, CancellationToken ct)
    {
        var pool = new StringPool();
        var runs = new List<CompactRun>();
        var spilled = new List<TableEntity>();
        await foreach (var row in _runs.QueryAsync<TableEntity>(RowsWithPrefix(experimentId, RunRowPrefix), select: SearchColumns, cancellationToken: ct).WithTransientErrors(tableMayBeMissing: true))
        {
            if (IsTombstone(row)) continue;
            if (SpillOf(row).Length > 0) spilled.Add(row);
            else runs.Add(CompactRun.From(ReadRun(row), pool));
        }
        foreach (var doc in await ReadBoundedAsync(spilled, async (row, ct) => (await ReadSpilledRunAsync(row, ct))?.Doc, ct))
            if (doc is not null) runs.Add(CompactRun.From(doc, pool));
        return (pool, runs);
    }

    /// <summary>
    /// The change feed's keys from <paramref name="cursor"/> on: one range query, or, when the feed grew at
    /// <paramref name="rowsPerSecond"/> (<see cref="FeedRate"/>) and so should hold several pages by now, that range cut
    /// by storage time into slices of about <see cref="FeedSliceRows"/> rows (at most <see cref="MaxFeedSlices"/>),
    /// queried side by side: a tail of several pages (a cold search right after a sweep) costs one round trip, not one
    /// per page.
    /// The slices cover the range exactly, whatever the estimate; a wrong one only costs pages or requests.
    /// </summary>
    private async Task<FeedTail> QueryFeedAsync(string experimentId, DateTimeOffset cursor, double rowsPerSecond, CancellationToken ct)
    {
        var startedAt = _time.GetTimestamp();
        var start = await StorageNowAsync(ct);
        var span = start - cursor;
        var expected = rowsPerSecond * Math.Max(0, span.TotalSeconds);
        var slices = (int)Math.Clamp(Math.Ceiling(expected / FeedSliceRows), 1, MaxFeedSlices);
        var bounds = new string[slices + 1];
        bounds[0] = ChangeFeed.KeyAt(cursor);
        for (var i = 1; i < slices; i++) bounds[i] = ChangeFeed.KeyAt(cursor + span * i / slices);
        bounds[slices] = ChangeFeed.End;
        var parts = await Task.WhenAll(Enumerable.Range(0, slices).Select(i => QueryFeedRangeAsync(experimentId, bounds[i], bounds[i + 1], ct)));
        return new FeedTail(start, startedAt, [.. parts.SelectMany(keys => keys)]);
    }

    private async Task<List<string>> QueryFeedRangeAsync(string experimentId, string from, string to, CancellationToken ct)
    {
        var keys = new List<string>();
        var filter = Filter($"PartitionKey eq {experimentId} and RowKey ge {from} and RowKey lt {to}");
        using var keysOnly = KeysOnlyQueries.Scope();
        await foreach (var row in _runs.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey", ChangeFeed.WriteProperty], cancellationToken: ct).WithTransientErrors(tableMayBeMissing: true))
            keys.Add(ChangeFeed.Identity(row));
        return keys;
    }

    /// <summary>Applies the change rows the view has not seen: one range query (or the one a load just made from the
    /// view's cursor), then the runs they name.</summary>
    private async Task ReadFeedAsync(string experimentId, RunView view, CancellationToken ct, FeedTail? read = null)
    {
        var queriedFrom = view.Cursor;
        var (start, startedAt, keys) = read ?? await QueryFeedAsync(experimentId, queriedFrom, FeedRate(view.SeenKeys.Count), ct);

        var unseen = 0;
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (ChangeFeed.Parse(key) is not { } change) continue;
            if (change.At > view.NewestChangeAt || view.NewestChangeAt is null) view.NewestChangeAt = change.At;
            if (view.SeenKeys.Contains(key)) continue;
            unseen++;
            changed.Add(change.RunId);
        }
        // Point reads cost a request per run, a scan one per 1,000 rows: a scan once an eighth of the runs changed.
        if (changed.Count > Math.Max(ScanAfterChangedRuns, view.Count / 8))
        {
            var (pool, runs) = await ScanAsync(experimentId, ct);
            view.Reset(pool, runs);
        }
        else if (changed.Count > 0)
        {
            var runIds = changed.ToList();
            var docs = await ReadBoundedAsync(runIds, (runId, ct) => ReadSearchedRunAsync(experimentId, runId, ct), ct);
            for (var i = 0; i < runIds.Count; i++)
                if (docs[i] is { } doc) view.Put(CompactRun.From(doc, view.Pool));
                else view.Drop(runIds[i]); // deleted for good: missing, or a purged run's tombstone
            view.TrimPool();
        }

        var cursor = start - ChangeFeed.ReadMargin;
        if (cursor > view.Cursor) view.Cursor = cursor;
        // A query from the snapshot's cursor read what every new instance reads after the snapshot: the rows before the
        // view's new cursor, a snapshot written now would spare them (most are keys the snapshot already holds, when the
        // sweep's writer stopped before its experiment turned quiet).
        if (view.SnapshotCursor is { } snapshotCursor && queriedFrom <= snapshotCursor)
            view.StaleTailRows = keys.Count(key => ChangeFeed.Parse(key) is { } change && change.At >= snapshotCursor && change.At < view.Cursor);
        // The next query starts at the cursor: of what it will return again, these are applied already.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
            if (ChangeFeed.Parse(key) is { } change && change.At >= view.Cursor) seen.Add(key);
        view.SeenKeys = seen;
        view.ChangesSinceSnapshot += unseen;
        view.RunsReadSinceSnapshot += changed.Count;
        view.RefreshedAt = startedAt;
    }

    /// <summary>One run's document as a search needs it (point buffer left out); null when it is gone or purged.</summary>
    private async Task<RunDocument?> ReadSearchedRunAsync(string experimentId, string runId, CancellationToken ct)
    {
        var row = await StorageErrors.Call(() => _runs.GetEntityIfExistsAsync<TableEntity>(experimentId, RunRow(runId), select: SearchColumns, cancellationToken: ct));
        if (!row.HasValue || IsTombstone(row.Value!)) return null;
        return SpillOf(row.Value!).Length == 0 ? ReadRun(row.Value!) : (await ReadSpilledRunAsync(row.Value!, ct))?.Doc;
    }

    /// <summary>
    /// Writers notice the feed growing, so an experiment that a sweep filled but nobody searched yet has a recent
    /// snapshot, and its first search anywhere reads that and a short tail instead of scanning every run row:
    /// <list type="bullet">
    /// <item>during the sweep, once this instance has written <see cref="RefreshAfterWrites"/> change rows to the
    /// experiment (or a tenth of its runs, whichever is more), it brings its view up to date in the background (one at a
    /// time per experiment), which writes a snapshot when the tail has grown past the thresholds;</item>
    /// <item>once the experiment has been quiet for <see cref="QuietPeriod"/> after this instance's writes, it does so
    /// once more and writes a snapshot of whatever the last one lacks: the first search after a sweep reads one blob and
    /// an empty tail.</item>
    /// </list>
    /// </summary>
    private void NoteChangesWritten(string experimentId, int changes)
    {
        if (_snapshots is null) return;
        _lastWrites[experimentId] = _time.GetTimestamp();
        if (_quietWatches.TryAdd(experimentId, 0)) RefreshInBackground(experimentId, settle: true);
        var due = Math.Max(RefreshAfterWrites, _liveViews.TryGetValue(experimentId, out var view) ? view.Count / 10 : 0);
        if (_writtenSinceRefresh.AddOrUpdate(experimentId, changes, (_, written) => written + changes) < due) return;
        if (!_backgroundRefreshes.TryAdd(experimentId, 0)) return;
        _writtenSinceRefresh[experimentId] = 0;
        RefreshInBackground(experimentId, settle: false);
    }

    /// <summary>A writer's refresh of its view (see <see cref="NoteChangesWritten"/>): right away, or once the
    /// experiment has been quiet (<paramref name="settle"/>), then with a snapshot of any tail at all.</summary>
    private void RefreshInBackground(string experimentId, bool settle)
    {
        using (ExecutionContext.SuppressFlow())
            _ = Task.Run(async () =>
            {
                try
                {
                    if (settle) await WaitUntilQuietAsync(experimentId);
                    using var budget = new CancellationTokenSource(LoadBudget);
                    await CurrentRunsAsync(experimentId, static _ => false, budget.Token, settle);
                    if (settle)
                    {
                        // A snapshot write already under way was built before the last writes, and this pass left it
                        // alone: once the writes under way are done, look again (it writes only what is still missing).
                        await SnapshotWritesSettled();
                        await CurrentRunsAsync(experimentId, static _ => false, budget.Token, settle);
                    }
                }
                catch (Exception e)
                {
                    _logger.LogWarning(e, "Bringing the search view of experiment {ExperimentId} up to date after writes failed; the next search does it", experimentId);
                }
                finally
                {
                    if (!settle) _backgroundRefreshes.TryRemove(experimentId, out _);
                }
            });
    }

    private async Task WaitUntilQuietAsync(string experimentId)
    {
        while (true)
        {
            var quietFor = _time.GetElapsedTime(_lastWrites[experimentId]);
            if (quietFor < QuietPeriod)
            {
                await Task.Delay(QuietPeriod - quietFor, _time);
                continue;
            }
            _quietWatches.TryRemove(experimentId, out _);
            // A write between the check and the removal found the watch still on: watch again for it.
            if (_time.GetElapsedTime(_lastWrites[experimentId]) >= QuietPeriod || !_quietWatches.TryAdd(experimentId, 0)) return;
        }
    }

    private static async Task<RunDocument?[]> ReadBoundedAsync<T>(IReadOnlyList<T> items, Func<T, CancellationToken, Task<RunDocument?>> read, CancellationToken ct)
    {
        var docs = new RunDocument?[items.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count), new ParallelOptions { MaxDegreeOfParallelism = ParallelRunReads, CancellationToken = ct },
            async (i, ct) => docs[i] = await read(items[i], ct));
        return docs;
    }

    /// <summary>(Re)states the view's size to the cache; a view grown or shrunk by an eighth is re-entered.</summary>
    private void KeepInCache(string experimentId, RunView view)
    {
        if (!_liveViews.TryGetValue(experimentId, out var live) || live != view) return; // evicted meanwhile
        var bytes = view.Bytes;
        if (_views.TryGetValue(experimentId, out RunView? cached) && cached == view && Math.Abs(bytes - view.CachedBytes) <= view.CachedBytes / 8) return;
        view.CachedBytes = bytes;
        var entry = new MemoryCacheEntryOptions { Size = bytes, SlidingExpiration = ViewIdleExpiry };
        entry.RegisterPostEvictionCallback(static (key, value, reason, state) =>
        {
            // Replaced: the same view, re-entered with its new size. Anything else (size, idle, too big for the cache).
            if (reason != EvictionReason.Replaced)
                ((ConcurrentDictionary<string, RunView>)state!).TryRemove(KeyValuePair.Create((string)key, (RunView)value!));
        }, _liveViews);
        _views.Set(experimentId, view, entry);
    }

    internal string SnapshotBlob(string experimentId) => $"{_snapshotPrefix}runs/{experimentId}.snapshot";

    /// <summary>
    /// The experiment's snapshot and the ETag of the blob read; no snapshot when there is none, it is of an unknown
    /// version, or storage did not answer (the caller then scans: slower, never wrong). The snapshot's cursor is also in
    /// the blob's metadata, which arrives before the body: the feed's tail after it is queried while the body downloads
    /// and decodes (a first search's two slowest steps side by side), and kept only if the decoded snapshot has that
    /// very cursor.
    /// </summary>
    private async Task<(RunSnapshot? Snapshot, StringPool Pool, ETag? ETag, FeedTail? Tail)> ReadSnapshotAsync(string experimentId, CancellationToken ct)
    {
        if (_snapshots is null) return (null, new StringPool(), null, null);
        Task<FeedTail>? tail = null;
        try
        {
            using var blob = (await _snapshots.GetBlobClient(SnapshotBlob(experimentId)).DownloadStreamingAsync(cancellationToken: ct)).Value;
            var cursor = SnapshotCursor(blob.Details.Metadata);
            if (cursor is { } from) tail = QueryFeedAsync(experimentId, from, SnapshotFeedRate(blob.Details.Metadata), ct);
            var pool = new StringPool();
            var snapshot = await RunSnapshot.ReadAsync(blob.Content, pool, ct);
            if (snapshot is null)
                _logger.LogWarning("The search snapshot of experiment {ExperimentId} is not one this Tracker reads; rebuilding it from the run rows", experimentId);
            var read = await TailOrNullAsync(tail);
            return (snapshot, snapshot is null ? new StringPool() : pool, blob.Details.ETag, snapshot is not null && snapshot.Cursor == cursor ? read : null);
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            return (null, new StringPool(), null, null);
        }
        catch (Exception e) when (StorageErrors.IsTransient(e) || e is IOException)
        {
            await TailOrNullAsync(tail);
            _logger.LogWarning(e, "Reading the search snapshot of experiment {ExperimentId} failed; scanning its run rows instead", experimentId);
            return (null, new StringPool(), null, null);
        }

        // A tail that failed is read again by the search, the usual way.
        static async Task<FeedTail?> TailOrNullAsync(Task<FeedTail>? tail)
        {
            if (tail is null) return null;
            try
            {
                return await tail;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return null;
            }
        }
    }

    /// <summary>How fast the feed grew over the read margin before a view's last read (change rows per second of storage
    /// time), from the keys it saw there: the next read, or a cold reader of the view's snapshot, expects that rate.</summary>
    private static double FeedRate(int seenKeys) => seenKeys / ChangeFeed.ReadMargin.TotalSeconds;

    /// <summary>The <see cref="FeedRate"/> a snapshot recorded (0 when it recorded none): how many slices a cold reader
    /// cuts its first read of the tail into.</summary>
    private static double SnapshotFeedRate(IDictionary<string, string> metadata) =>
        metadata.TryGetValue(SnapshotFeedRateMetadata, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate >= 0
            ? rate
            : 0;

    private static DateTimeOffset? SnapshotCursor(IDictionary<string, string> metadata) =>
        metadata.TryGetValue(SnapshotCursorMetadata, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : null;

    /// <summary>Writes the view's snapshot after the search that asked has answered (its own budget, no request's
    /// context: the request's storage-request count and span do not include it).</summary>
    private void StartSnapshotWrite(string experimentId, RunView view)
    {
        Task write;
        using (ExecutionContext.SuppressFlow())
            write = Task.Run(() => WriteSnapshotAsync(experimentId, view));
        lock (_snapshotWritesGate)
            _snapshotWrites = _snapshotWrites.IsCompleted ? write : Task.WhenAll(_snapshotWrites, write);
    }

    /// <summary>Completes once the snapshot writes started so far have.</summary>
    internal Task SnapshotWritesSettled()
    {
        lock (_snapshotWritesGate) return _snapshotWrites;
    }

    /// <summary>Writes a snapshot of the experiment's view now (tests: a chosen interleaving of two instances). False
    /// when this instance holds no view of it or another instance's snapshot won.</summary>
    internal async Task<bool> WriteSnapshotNowAsync(string experimentId)
    {
        if (!_liveViews.TryGetValue(experimentId, out var view)) return false;
        await view.Lock.WaitAsync();
        try
        {
            if (view.SnapshotWriting) return false;
            view.SnapshotWriting = true;
        }
        finally
        {
            view.Lock.Release();
        }
        return await WriteSnapshotAsync(experimentId, view);
    }

    /// <summary>
    /// Uploads the view as the experiment's snapshot if the blob is still the one the view built on (If-Match its ETag,
    /// If-None-Match * when there was none). A loser reads the winner's cursor: a snapshot covering at least as much
    /// stays, an older one is replaced (once more conditionally). The winner then prunes the feed. Never throws: a
    /// failed write only means the next search that sees the tail grown tries again.
    /// </summary>
    private async Task<bool> WriteSnapshotAsync(string experimentId, RunView view)
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = budget.Token;
        try
        {
            RunSnapshot snapshot;
            ETag? etag;
            DateTimeOffset? previousCursor;
            int changes, reads;
            await view.Lock.WaitAsync(ct);
            try
            {
                // The runs are immutable: encoding happens outside the lock.
                snapshot = new RunSnapshot(view.Cursor, [.. view.SeenKeys], [.. view.Runs.Values]);
                (etag, previousCursor, changes, reads) = (view.SnapshotETag, view.SnapshotCursor, view.ChangesSinceSnapshot, view.RunsReadSinceSnapshot);
            }
            finally
            {
                view.Lock.Release();
            }

            var written = await UploadSnapshotAsync(experimentId, snapshot, etag, ct);
            if (written is not { } w) return false;
            await view.Lock.WaitAsync(ct);
            try
            {
                view.SnapshotETag = w.ETag;
                view.SnapshotCursor = w.Cursor;
                view.SnapshotMissing = false;
                view.ChangesSinceSnapshot = Math.Max(0, view.ChangesSinceSnapshot - changes);
                view.RunsReadSinceSnapshot = Math.Max(0, view.RunsReadSinceSnapshot - reads);
                view.StaleTailRows = 0;
            }
            finally
            {
                view.Lock.Release();
            }
            if (!w.Ours) return false;
            _logger.LogInformation("Wrote the search snapshot of experiment {ExperimentId}: {Runs} runs", experimentId, snapshot.Runs.Count);
            // Readers holding the previous snapshot read the feed from its cursor: never prune past that.
            var pruneBefore = snapshot.Cursor - FeedPruneDelay;
            if (previousCursor is { } previous && previous < pruneBefore) pruneBefore = previous;
            await PruneFeedAsync(experimentId, pruneBefore, ct);
            return true;
        }
        // A background task of its own: whatever went wrong is logged, and the next search that sees the tail grown tries again.
        catch (Exception e)
        {
            _logger.LogWarning(e, "Writing the search snapshot of experiment {ExperimentId} failed", experimentId);
            return false;
        }
        finally
        {
            view.SnapshotWriting = false;
        }
    }

    private async Task<(ETag ETag, DateTimeOffset Cursor, bool Ours)?> UploadSnapshotAsync(string experimentId, RunSnapshot snapshot, ETag? etag, CancellationToken ct)
    {
        var blob = _snapshots!.GetBlobClient(SnapshotBlob(experimentId));
        var data = BinaryData.FromBytes(snapshot.Encode());
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                var written = await blob.UploadAsync(data, new BlobUploadOptions
                {
                    Conditions = etag is { } match ? new BlobRequestConditions { IfMatch = match } : new BlobRequestConditions { IfNoneMatch = ETag.All },
                    Metadata = new Dictionary<string, string>
                    {
                        [SnapshotCursorMetadata] = snapshot.Cursor.UtcTicks.ToString(CultureInfo.InvariantCulture),
                        [SnapshotFeedRateMetadata] = FeedRate(snapshot.SeenKeys.Count).ToString("0.###", CultureInfo.InvariantCulture),
                    },
                    HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                }, ct);
                return (written.Value.ETag, snapshot.Cursor, true);
            }
            catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                await _snapshots.CreateIfNotExistsAsync(cancellationToken: ct);
            }
            catch (RequestFailedException e) when (e.Status is StorageErrors.Conflict or StorageErrors.PreconditionFailed)
            {
                // Another instance wrote a snapshot since this view read one.
                try
                {
                    var current = (await blob.GetPropertiesAsync(cancellationToken: ct)).Value;
                    var theirs = SnapshotCursor(current.Metadata) ?? DateTimeOffset.MinValue;
                    if (theirs >= snapshot.Cursor) return (current.ETag, theirs, false);
                    etag = current.ETag;
                }
                catch (RequestFailedException gone) when (gone.Status == StorageErrors.NotFound)
                {
                    etag = null;
                }
            }
        }
        return null;
    }

    /// <summary>Deletes the experiment's snapshot once the experiment itself is gone (its purge); best effort, as an
    /// orphaned snapshot only costs its bytes.</summary>
    public async Task DeleteSearchSnapshotAsync(string experimentId, CancellationToken ct = default)
    {
        if (_liveViews.TryRemove(experimentId, out _)) _views.Remove(experimentId);
        if (_snapshots is null) return;
        try
        {
            await _snapshots.GetBlobClient(SnapshotBlob(experimentId)).DeleteIfExistsAsync(cancellationToken: ct);
        }
        catch (RequestFailedException e)
        {
            _logger.LogWarning(e, "Deleting the search snapshot of purged experiment {ExperimentId} failed; it stays unreferenced", experimentId);
        }
    }

    /// <summary>Deletes change rows keyed before <paramref name="before"/>: passes of up to <see cref="MaxPrunedPerPass"/>
    /// rows, a transaction per 100, at most <see cref="MaxPrunePasses"/> passes per snapshot (a feed that grew long
    /// before its first snapshot shrinks over the next ones).</summary>
    private async Task PruneFeedAsync(string experimentId, DateTimeOffset before, CancellationToken ct)
    {
        for (var pass = 0; pass < MaxPrunePasses; pass++)
            if (await PruneFeedPassAsync(experimentId, before, ct) < MaxPrunedPerPass) return;
    }

    private async Task<int> PruneFeedPassAsync(string experimentId, DateTimeOffset before, CancellationToken ct)
    {
        var keys = new List<string>();
        var filter = Filter($"PartitionKey eq {experimentId} and RowKey ge {ChangeFeed.RowPrefix} and RowKey lt {ChangeFeed.KeyAt(before)}");
        await foreach (var row in _runs.QueryAsync<TableEntity>(filter, maxPerPage: MaxPrunedPerPass, select: ["RowKey"], cancellationToken: ct).WithTransientErrors())
        {
            keys.Add(row.RowKey);
            if (keys.Count >= MaxPrunedPerPass) break;
        }
        foreach (var batch in keys.Chunk(100))
        {
            try
            {
                await StorageErrors.Call(() => _runs.SubmitTransactionAsync(
                    batch.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(experimentId, key), ETag.All)), ct));
            }
            catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
            {
                // Another instance pruned some of these first; the rest go at the next pass.
            }
        }
        if (keys.Count > 0) _logger.LogInformation("Pruned {Count} change rows of experiment {ExperimentId}", keys.Count, experimentId);
        return keys.Count;
    }
}
