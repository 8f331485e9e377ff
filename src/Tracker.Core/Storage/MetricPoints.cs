using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Tracker.Core.Storage;

/// <summary>One point of a metric's history.</summary>
internal readonly record struct MetricPoint(long Step, long Timestamp, double Value)
{
    /// <summary>MLflow's SQL store keeps NaN as 0 with a flag, so orderings and "latest" comparisons see NaN as 0.</summary>
    public double ComparableValue => double.IsNaN(Value) ? 0 : Value;

    /// <summary>History order: timestamp, step, value (MLflow's get-history ORDER BY).</summary>
    public static int HistoryOrder(MetricPoint a, MetricPoint b)
    {
        var c = a.Timestamp.CompareTo(b.Timestamp);
        if (c != 0) return c;
        c = a.Step.CompareTo(b.Step);
        return c != 0 ? c : a.ComparableValue.CompareTo(b.ComparableValue);
    }

    /// <summary>Bulk-interval order: step, timestamp, value.</summary>
    public static int StepOrder(MetricPoint a, MetricPoint b)
    {
        var c = a.Step.CompareTo(b.Step);
        if (c != 0) return c;
        c = a.Timestamp.CompareTo(b.Timestamp);
        return c != 0 ? c : a.ComparableValue.CompareTo(b.ComparableValue);
    }

    /// <summary>MLflow's identity of a history row: (key, timestamp, step, value, is_nan); exact duplicates are one point.</summary>
    public bool SameAs(MetricPoint other) =>
        Step == other.Step && Timestamp == other.Timestamp && BitConverter.DoubleToInt64Bits(Value) == BitConverter.DoubleToInt64Bits(other.Value);
}

/// <summary>
/// Packs points into binary Table properties, and names the kinds of history rows of a run (where they live, under
/// which prefix: TrackingStore.History):
/// <list type="bullet">
/// <item><c>u:{unique}</c>: one row per logged batch (or flushed run-row buffer); a metric key's points in properties
/// <c>h{hash(key)}</c>, <c>h{hash(key)}p1</c>…. Written in the run row's transaction, never modified.</item>
/// <item><c>c:{unique}</c>: compacted history, the same shape as batch rows, made from many of them.</item>
/// </list>
/// </summary>
internal static class MetricPoints
{
    /// <summary>A point's size in memory (three 8-byte fields), for cache accounting.</summary>
    public const int PointBytes = 24;
    /// <summary>A packed point is at most this long: two 10-byte varints and the value.</summary>
    private const int MaxPackedPointBytes = 28;
    /// <summary>A Table property holds at most 64 KiB.</summary>
    public const int MaxPropertyBytes = 64 * 1024;
    /// <summary>A batch row holds at most this many properties (≤ 252 per entity).</summary>
    public const int MaxPropertiesPerBatchRow = 240;
    /// <summary>A key's points in one batch row span at most this many properties.</summary>
    public const int MaxPiecesPerKey = 16;
    /// <summary>A history row holds at most this many point bytes (≤ 1 MiB per entity).</summary>
    public const int MaxBytesPerRow = 900 * 1024;
    /// <summary>
    /// Packs points for a history row: per point the step and timestamp as zigzag varint deltas from the previous
    /// point, then the value's 8 bytes. Steps and timestamps mostly advance by small amounts, so a point takes about
    /// 11 bytes instead of 24: less to write per batch, less to read per history. Self-contained: deltas start at 0.
    /// </summary>
    public static byte[] Pack(IReadOnlyList<MetricPoint> points)
    {
        var bytes = new byte[points.Count * MaxPackedPointBytes];
        var length = PackInto(points, 0, points.Count, bytes);
        return bytes.AsSpan(0, length).ToArray();
    }

    /// <summary>Packs points into independent pieces of at most <see cref="MaxPropertyBytes"/> each.</summary>
    public static List<byte[]> PackPieces(IReadOnlyList<MetricPoint> points)
    {
        var pieces = new List<byte[]>();
        const int pointsPerPiece = MaxPropertyBytes / MaxPackedPointBytes;
        for (var start = 0; start < points.Count; start += pointsPerPiece)
        {
            var count = Math.Min(pointsPerPiece, points.Count - start);
            var buffer = new byte[count * MaxPackedPointBytes];
            pieces.Add(buffer.AsSpan(0, PackInto(points, start, count, buffer)).ToArray());
        }
        return pieces;
    }

    private static int PackInto(IReadOnlyList<MetricPoint> points, int start, int count, Span<byte> into)
    {
        var at = 0;
        long step = 0, timestamp = 0;
        for (var i = start; i < start + count; i++)
        {
            var p = points[i];
            at += WriteVarint(into[at..], ZigZag(p.Step - step));
            at += WriteVarint(into[at..], ZigZag(p.Timestamp - timestamp));
            BinaryPrimitives.WriteDoubleLittleEndian(into[at..], p.Value);
            at += 8;
            (step, timestamp) = (p.Step, p.Timestamp);
        }
        return at;
    }

    public static void Unpack(ReadOnlySpan<byte> bytes, List<MetricPoint> into)
    {
        long step = 0, timestamp = 0;
        while (!bytes.IsEmpty)
        {
            step += UnZigZag(ReadVarint(ref bytes));
            timestamp += UnZigZag(ReadVarint(ref bytes));
            if (bytes.Length < 8) throw new InvalidDataException("Truncated metric point.");
            into.Add(new MetricPoint(step, timestamp, BinaryPrimitives.ReadDoubleLittleEndian(bytes)));
            bytes = bytes[8..];
        }
    }

    private static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

    private static long UnZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);

    public static byte[] Varint(ulong v)
    {
        Span<byte> bytes = stackalloc byte[10];
        return bytes[..WriteVarint(bytes, v)].ToArray();
    }

    private static int WriteVarint(Span<byte> into, ulong v)
    {
        var i = 0;
        for (; v >= 0x80; v >>= 7) into[i++] = (byte)(v | 0x80);
        into[i++] = (byte)v;
        return i;
    }

    public static ulong ReadVarint(ref ReadOnlySpan<byte> bytes)
    {
        ulong v = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (bytes.IsEmpty) throw new InvalidDataException("Truncated metric point.");
            var b = bytes[0];
            bytes = bytes[1..];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw new InvalidDataException("Malformed varint in a metric point.");
    }

    /// <summary>
    /// Row keys and property names cannot carry MLflow keys (250 characters of almost anything, Table keys forbid
    /// '/', '\', '#', '?' and control characters): they carry a 128-bit hash; compacted rows keep the exact key.
    /// </summary>
    public static string KeyHash(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));

    public static string KeyProperty(string key) => "h" + KeyHash(key);

    /// <summary>The properties a key's points may occupy in a batch row: <c>h{hash}</c>, then <c>h{hash}p1</c>….</summary>
    public static string[] PieceProperties(string keyProperty) =>
        Enumerable.Range(0, MaxPiecesPerKey).Select(i => i == 0 ? keyProperty : $"{keyProperty}p{i}").ToArray();

    public const string BatchRowPrefix = "u:";
    public const string CompactedRowPrefix = "c:";

    /// <summary>The key property a piece property belongs to (<c>h{hash}p3</c> → <c>h{hash}</c>).</summary>
    public static string KeyPropertyOf(string pieceProperty) =>
        pieceProperty.Length > 33 && pieceProperty[33] == 'p' ? pieceProperty[..33] : pieceProperty;

    /// <summary>A row key no other writer can pick: time-ordered, with random bits against same-tick writers.</summary>
    public static string UniqueSuffix() =>
        $"{DateTime.UtcNow.Ticks:D19}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>The smallest string above every row key that starts with <paramref name="prefix"/> (which ends in ':').</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + ";";

}
