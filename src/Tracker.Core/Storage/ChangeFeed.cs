using System.Globalization;
using System.Security.Cryptography;
using Azure.Data.Tables;

namespace Tracker.Core.Storage;

/// <summary>
/// Which runs of an experiment changed, and when: one row per write of a run row, in the runs table's experiment
/// partition, written in the same entity-group transaction as the run row it describes (so a change is in the feed
/// exactly when it is in the run row). A search learns what changed since it last looked with one range query over
/// these row keys, proportional to what changed, never to the experiment's size.
///
/// Row key: <c>c:{storage time in ticks, 19 digits}:{run id}:{8 hex}</c>. The time is storage's own clock as this
/// instance knows it (<see cref="StorageClock"/>), so instances with skewed clocks still agree on the order. The row has
/// no other properties: a reader re-reads the runs it names.
///
/// Why a reader never misses a change (issue 11): a change row can become visible after a reader has read past its key
/// only if its write was in flight at that moment. A writer that sees its write take longer than
/// <see cref="LateAfter"/> from drawing the key to the answer writes one more change row for the run, keyed afresh,
/// before it answers (<see cref="IsLate"/>; that row is a write too, and is followed by another while it answers late).
/// So a change committed after a reader's query at storage time Q has a key of at least Q − <see cref="LateAfter"/> −
/// <see cref="StorageClock.MaxLag"/>, and a reader that re-reads from its last query's time minus
/// <see cref="ReadMargin"/> sees it. A write whose outcome is unknown (timeout, 5xx) is answered as failed: the writer
/// then adds a change row for the run, best effort, and the client's retry adds another.
/// </summary>
public static class ChangeFeed
{
    public const string RowPrefix = "c:";

    /// <summary>A write slower than this (key drawn → answer received) adds a fresh change row before it answers.</summary>
    public static readonly TimeSpan LateAfter = TimeSpan.FromSeconds(2);

    /// <summary>How far before its last query's start (by <see cref="StorageClock"/>) a reader reads the feed again.</summary>
    public static readonly TimeSpan ReadMargin = LateAfter + StorageClock.MaxLag + TimeSpan.FromSeconds(1);

    /// <summary>The change row for one write of <paramref name="runId"/>'s row, keyed at storage time <paramref name="at"/>.</summary>
    public static TableEntity Row(string experimentId, string runId, DateTimeOffset at) =>
        new(experimentId, $"{KeyAt(at)}:{runId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    /// <summary>The smallest row key of changes at or after storage time <paramref name="at"/> (a range query's start).</summary>
    public static string KeyAt(DateTimeOffset at) =>
        RowPrefix + Math.Max(0, at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The row key just past every change row (a range query's end).</summary>
    public static string End => MetricPoints.PrefixEnd(RowPrefix);

    /// <summary>The storage time and run id a change row's key names; null for a key that is not a change row's.</summary>
    public static (DateTimeOffset At, string RunId)? Parse(string rowKey)
    {
        // c: + 19 digits + : + 32 hex run id + : + 8 hex
        if (rowKey.Length != RowPrefix.Length + 19 + 1 + 32 + 1 + 8 || !rowKey.StartsWith(RowPrefix, StringComparison.Ordinal)) return null;
        if (!long.TryParse(rowKey.AsSpan(RowPrefix.Length, 19), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)) return null;
        return (new DateTimeOffset(ticks, TimeSpan.Zero), rowKey.Substring(RowPrefix.Length + 20, 32));
    }

    /// <summary>True when a write keyed at <paramref name="drawnAt"/> (local monotonic timestamp) answered too late to be
    /// sure a reader's margin covers it: the caller then writes one more change row before answering.</summary>
    public static bool IsLate(long drawnAt, TimeProvider time) => time.GetElapsedTime(drawnAt) > LateAfter;
}
