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
/// Packs points 24 bytes each (step, timestamp, value; little-endian) into one binary Table property per appended
/// group, and names the history chunk rows of a run's metric key.
/// </summary>
internal static class MetricPoints
{
    public const int PointBytes = 24;
    /// <summary>A chunk row is sealed after this many groups (≤ 252 properties per entity)...</summary>
    public const int MaxGroupsPerChunk = 200;
    /// <summary>...or once it holds this many point bytes (≤ 1 MiB per entity).</summary>
    public const int MaxBytesPerChunk = 768 * 1024;

    public static byte[] Encode(IReadOnlyList<MetricPoint> points)
    {
        var bytes = new byte[points.Count * PointBytes];
        var span = bytes.AsSpan();
        foreach (var p in points)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span, p.Step);
            BinaryPrimitives.WriteInt64LittleEndian(span[8..], p.Timestamp);
            BinaryPrimitives.WriteDoubleLittleEndian(span[16..], p.Value);
            span = span[PointBytes..];
        }
        return bytes;
    }

    public static void Decode(ReadOnlySpan<byte> bytes, List<MetricPoint> into)
    {
        for (; bytes.Length >= PointBytes; bytes = bytes[PointBytes..])
            into.Add(new MetricPoint(
                BinaryPrimitives.ReadInt64LittleEndian(bytes),
                BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]),
                BinaryPrimitives.ReadDoubleLittleEndian(bytes[16..])));
    }

    /// <summary>
    /// Row keys cannot hold '/', '\', '#', '?' or control characters and are limited to 1 KiB, while MLflow keys may
    /// have 250 characters of almost anything: the row key carries a hash, the row itself the exact key.
    /// </summary>
    public static string KeyHash(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));

    public static string ChunkPrefix(string runId, string key) => $"m:{runId}:{KeyHash(key)}:";

    public static string ChunkRow(string runId, string key, int chunk) => $"{ChunkPrefix(runId, key)}{chunk:D6}";

    /// <summary>The smallest string above every row key that starts with <paramref name="prefix"/> (which ends in ':').</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + ";";

    public static string GroupProperty(int group) => "P" + group;
}
