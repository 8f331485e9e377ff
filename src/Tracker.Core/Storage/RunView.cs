using Azure;

namespace Tracker.Core.Storage;

/// <summary>
/// One experiment's searchable runs as this instance knows them (TrackingStore.RunCatalog): the compact runs, where in
/// the change feed it must read next, and which change keys at or after that point it has already applied. Every field
/// is guarded by <see cref="Lock"/>; the runs themselves are immutable, so a search may keep them after releasing it.
/// </summary>
internal sealed class RunView
{
    public readonly SemaphoreSlim Lock = new(1, 1);

    public Dictionary<string, CompactRun> Runs { get; private set; } = new(StringComparer.Ordinal);
    public StringPool Pool { get; private set; } = new();
    /// <summary>False until a snapshot or a scan filled it.</summary>
    public bool Loaded { get; private set; }
    /// <summary>The next refresh reads change rows keyed at or after this storage time.</summary>
    public DateTimeOffset Cursor { get; set; }
    /// <summary>The change keys at or after <see cref="Cursor"/> already applied (read again by the next query).</summary>
    public HashSet<string> SeenKeys { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Local monotonic timestamp of the last refresh (a view idle too long reloads, see RunCatalog).</summary>
    public long RefreshedAt { get; set; }

    /// <summary>The snapshot blob's ETag this view last read or wrote; null when there was none (or none readable).</summary>
    public ETag? SnapshotETag { get; set; }
    /// <summary>The cursor of that snapshot, when known.</summary>
    public DateTimeOffset? SnapshotCursor { get; set; }
    /// <summary>How far the feed's tail has grown since that snapshot: change rows applied, runs re-read.</summary>
    public int ChangesSinceSnapshot { get; set; }
    public int RunsReadSinceSnapshot { get; set; }
    /// <summary>Change rows after the snapshot's cursor but before <see cref="Cursor"/>, as the last read from the
    /// snapshot's cursor found them: what each new instance reads after the snapshot and a snapshot written now would not
    /// make it read. Without this, a sweep's writer that stopped before its experiment turned quiet left the last seconds
    /// of the sweep in every cold search's tail until the next write.</summary>
    public int StaleTailRows { get; set; }
    /// <summary>The storage time of the newest change key read: while it is at or after <see cref="SnapshotCursor"/>, the
    /// snapshot's tail holds rows that each new instance reads, and a writer's settling pass replaces the snapshot.</summary>
    public DateTimeOffset? NewestChangeAt { get; set; }
    /// <summary>True when no usable snapshot exists (first touch of an experiment, or an unknown version).</summary>
    public bool SnapshotMissing { get; set; }
    /// <summary>A snapshot write of this view is under way.</summary>
    public bool SnapshotWriting { get; set; }

    /// <summary>A load (snapshot or scan) under way in the background: it outlives the request that started it, so a big
    /// experiment's first scan completes even when it takes longer than one request's budget, and the client's retry
    /// picks up its result (see RunCatalog).</summary>
    public Task<LoadedRuns>? Loading { get; set; }

    /// <summary>The size the cache last recorded for this view.</summary>
    public long CachedBytes { get; set; }

    private long _runBytes;

    /// <summary>Estimated bytes this view holds (runs, shared strings, seen keys, fixed overhead).</summary>
    public long Bytes => 1024 + _runBytes + Pool.Bytes + SeenKeys.Count * 160L;

    public int Count => Runs.Count;

    private static long s_versions;

    /// <summary>Changes whenever the runs do, and is never reused by another view: a search of an unchanged view may
    /// reuse the order it sorted for the previous page (TrackingStore.Search).</summary>
    public long Version { get; private set; } = Interlocked.Increment(ref s_versions);

    /// <summary>Replaces every run (a scan or a snapshot), with the pool their strings came from.</summary>
    public void Reset(StringPool pool, IReadOnlyCollection<CompactRun> runs)
    {
        Pool = pool;
        Runs = new Dictionary<string, CompactRun>(runs.Count, StringComparer.Ordinal);
        _runBytes = 0;
        foreach (var run in runs) Put(run);
        _poolBaseline = pool.Count;
        Loaded = true;
    }

    /// <summary>
    /// Drops pooled strings no run uses any more (values replaced by later writes, runs purged): once the pool has more
    /// than doubled since it was last built, every run is re-interned into a fresh one. Amortized, that costs each
    /// added string a constant, and a busy view's memory follows its live runs.
    /// </summary>
    public void TrimPool()
    {
        if (Pool.Count <= 2 * _poolBaseline + 1024) return;
        var pool = new StringPool();
        Reset(pool, Runs.Values.Select(run => run.Repooled(pool)).ToList());
    }

    private int _poolBaseline;

    public void Put(CompactRun run)
    {
        Version = Interlocked.Increment(ref s_versions);
        if (Runs.Remove(run.RunId, out var old)) _runBytes -= old.EstimatedBytes;
        Runs[run.RunId] = run;
        _runBytes += run.EstimatedBytes;
    }

    public void Drop(string runId)
    {
        Version = Interlocked.Increment(ref s_versions);
        if (Runs.Remove(runId, out var old)) _runBytes -= old.EstimatedBytes;
    }
}

/// <summary>What a load read: from a snapshot (its cursor, seen keys and ETag, and the feed's tail after that cursor, read
/// while the snapshot decoded) or, with no snapshot, a scan; and when it finished (local monotonic timestamp).</summary>
internal sealed record LoadedRuns(
    StringPool Pool, IReadOnlyList<CompactRun> Runs, DateTimeOffset Cursor, HashSet<string> SeenKeys, ETag? SnapshotETag, bool FromSnapshot,
    long LoadedAt, FeedTail? Tail = null);

/// <summary>The change feed's keys from a cursor on, as one query found them: <see cref="Start"/> is storage time just
/// before it (the next cursor, less the read margin), <see cref="StartedAt"/> local monotonic time.</summary>
internal sealed record FeedTail(DateTimeOffset Start, long StartedAt, List<string> Keys);
