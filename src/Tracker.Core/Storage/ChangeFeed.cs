using System.Globalization;
using System.Security.Cryptography;
using Azure.Data.Tables;

namespace Tracker.Core.Storage;

/// <summary>
/// Which runs of an experiment changed, and when: one row per run and second of storage time, in the runs table's
/// experiment partition, set in the same entity-group transaction as the run row it describes (so a change is in the
/// feed exactly when it is in the run row). A search learns what changed since it last looked with one range query over
/// these row keys, proportional to what changed, never to the experiment's size.
///
/// Row key: <c>c:{storage time in ticks, 19 digits, down to its whole second}:{run id}</c>, and one property,
/// <see cref="WriteProperty"/>: 8 random hex digits of the write that set the row last. Every write of a run row
/// replaces its run's row of that second, so a run written many times a second (an MLflow client logging step by step,
/// or creating a run then logging to it) costs readers one row per second, not one per write. What a reader has applied
/// is a row's <see cref="Identity"/> (its key and its write): a row set again by a later write reads as a change again.
/// The time is storage's own clock as this instance knows it (<see cref="StorageClock"/>), so instances with skewed
/// clocks still agree on the order. Rows written before the rows were coalesced have the write's 8 hex digits at the
/// end of the key instead of in the property: their identity is the same shape.
///
/// Why a reader never misses a change (issue 11): a change row can become visible after a reader has read past its key
/// only if its write was in flight at that moment. A writer that sees its write take longer than
/// <see cref="LateAfter"/> from drawing the key to the answer writes one more change row for the run, keyed afresh,
/// before it answers (<see cref="IsLate"/>; that row is a write too, and is followed by another while it answers late).
/// So a change committed after a reader's query at storage time Q has a key of at least Q − <see cref="LateAfter"/> −
/// <see cref="StorageClock.MaxLag"/> − <see cref="KeyResolution"/>, and a reader that re-reads from its last query's
/// time minus <see cref="ReadMargin"/> sees it. A write whose outcome is unknown (timeout, 5xx) is answered as failed:
/// the writer then adds a change row for the run, best effort, and the client's retry adds another.
/// </summary>
public static class ChangeFeed
{
    public const string RowPrefix = "c:";

    /// <summary>The property naming the write that set a change row last.</summary>
    public const string WriteProperty = "w";

    /// <summary>A write slower than this (key drawn → answer received) adds a fresh change row before it answers.</summary>
    public static readonly TimeSpan LateAfter = TimeSpan.FromSeconds(2);

    /// <summary>How much storage time one change row of a run covers: its key is the time its last write drew, down to
    /// this.</summary>
    public static readonly TimeSpan KeyResolution = TimeSpan.FromSeconds(1);

    /// <summary>How far before its last query's start (by <see cref="StorageClock"/>) a reader reads the feed again.</summary>
    public static readonly TimeSpan ReadMargin = LateAfter + StorageClock.MaxLag + KeyResolution + TimeSpan.FromSeconds(1);

    private const int TimeDigits = 19;
    private const int RunIdLength = 32;
    private const int WriteLength = 8;
    private static readonly int KeyLength = RowPrefix.Length + TimeDigits + 1 + RunIdLength;

    /// <summary>The change row one write of <paramref name="runId"/>'s row sets, at storage time <paramref name="at"/>
    /// (written with <see cref="TableTransactionActionType.UpsertReplace"/>: it replaces the run's row of that second).</summary>
    public static TableEntity Row(string experimentId, string runId, DateTimeOffset at) =>
        new(experimentId, $"{KeyAt(new DateTimeOffset(at.UtcTicks - at.UtcTicks % KeyResolution.Ticks, TimeSpan.Zero))}:{runId}")
        {
            [WriteProperty] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(WriteLength / 2)),
        };

    /// <summary>What a reader remembers of a change row it applied: its key and the write that set it (a row set again
    /// reads as new). Has the shape <see cref="Parse"/> reads.</summary>
    public static string Identity(TableEntity row) =>
        row.GetString(WriteProperty) is { Length: WriteLength } write ? $"{row.RowKey}:{write}" : row.RowKey;

    /// <summary>The smallest row key of changes at or after storage time <paramref name="at"/> (a range query's start).</summary>
    public static string KeyAt(DateTimeOffset at) =>
        RowPrefix + Math.Max(0, at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The row key just past every change row (a range query's end).</summary>
    public static string End => MetricPoints.PrefixEnd(RowPrefix);

    /// <summary>The storage time and run id a change row's key or <see cref="Identity"/> names; null for anything else.</summary>
    public static (DateTimeOffset At, string RunId)? Parse(string key)
    {
        // c: + 19 digits + : + 32 hex run id, then : + 8 hex in an identity (and in the keys of rows written before rows were coalesced)
        if ((key.Length != KeyLength && key.Length != KeyLength + 1 + WriteLength) || !key.StartsWith(RowPrefix, StringComparison.Ordinal)) return null;
        if (!long.TryParse(key.AsSpan(RowPrefix.Length, TimeDigits), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)) return null;
        return (new DateTimeOffset(ticks, TimeSpan.Zero), key.Substring(RowPrefix.Length + TimeDigits + 1, RunIdLength));
    }

    /// <summary>True when a write keyed at <paramref name="drawnAt"/> (local monotonic timestamp) answered too late to be
    /// sure a reader's margin covers it: the caller then writes one more change row before answering.</summary>
    public static bool IsLate(long drawnAt, TimeProvider time) => time.GetElapsedTime(drawnAt) > LateAfter;
}
