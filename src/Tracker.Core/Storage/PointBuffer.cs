using Azure.Data.Tables;

namespace Tracker.Core.Storage;

/// <summary>
/// Points of small batches (log-metric's single point) kept in the run row itself (properties <c>B0…Bn</c>), so such a
/// call is one storage request: the run row's ETag-guarded Merge carries the new points along with the latest values.
/// Past <see cref="FlushBytes"/> the points move to a history row. The buffer stays small on purpose: storage work
/// grows with the entity rewritten, so large batches are better off in a history row of their own.
/// A part is a run of groups: the key's 16-byte hash, a varint length, the points packed (<see cref="MetricPoints.Pack"/>).
/// </summary>
internal sealed class PointBuffer
{
    /// <summary>Batches of at most this many points are buffered.</summary>
    public const int MaxBatchPoints = 32;
    public const int FlushBytes = 8 * 1024;
    private const int MaxPartBytes = 60 * 1024;
    private const string Prefix = "B";

    private readonly List<byte[]> _parts;
    private readonly HashSet<int> _changed = [];

    private PointBuffer(List<byte[]> parts) => _parts = parts;

    public static PointBuffer Empty() => new([]);

    public static PointBuffer From(TableEntity row)
    {
        var parts = new List<byte[]>();
        for (var i = 0; row.GetBinary(Prefix + i) is { } part; i++) parts.Add(part);
        return new PointBuffer(parts);
    }

    public PointBuffer Copy() => new([.. _parts]);

    public int Bytes => _parts.Sum(p => p.Length);

    /// <summary>True once <see cref="TakeAll"/> emptied it: the stored parts must go, so the row is replaced, not merged.</summary>
    public bool Cleared { get; private set; }

    public bool IsFull => Bytes >= FlushBytes;

    /// <summary>Writes every part, or (for a Merge) only the parts this change added or extended.</summary>
    public void WriteTo(TableEntity row, bool changedOnly)
    {
        for (var i = 0; i < _parts.Count; i++)
            if (!changedOnly || _changed.Contains(i)) row[Prefix + i] = _parts[i];
    }

    public void Add(IReadOnlyList<(string Key, List<MetricPoint> Points)> keys)
    {
        var groups = new List<byte>();
        foreach (var (key, points) in keys)
        {
            var packed = MetricPoints.Pack(points);
            groups.AddRange(Convert.FromHexString(MetricPoints.KeyHash(key)));
            groups.AddRange(MetricPoints.Varint((ulong)packed.Length));
            groups.AddRange(packed);
        }
        if (_parts.Count > 0 && _parts[^1].Length + groups.Count <= MaxPartBytes)
            _parts[^1] = [.. _parts[^1], .. groups];
        else
            _parts.Add([.. groups]);
        _changed.Add(_parts.Count - 1);
    }

    /// <summary>Every buffered point by key property (<c>h{hash}</c>), and the buffer emptied.</summary>
    public Dictionary<string, List<MetricPoint>> TakeAll()
    {
        var byKey = new Dictionary<string, List<MetricPoint>>(StringComparer.Ordinal);
        foreach (var (hash, packed) in Groups())
        {
            var property = "h" + Convert.ToHexStringLower(hash);
            if (!byKey.TryGetValue(property, out var points)) byKey[property] = points = [];
            MetricPoints.Unpack(packed, points);
        }
        _parts.Clear();
        _changed.Clear();
        Cleared = true;
        return byKey;
    }

    public void CollectPoints(string key, List<MetricPoint> into)
    {
        var hash = Convert.FromHexString(MetricPoints.KeyHash(key));
        foreach (var (groupHash, packed) in Groups())
            if (groupHash.AsSpan().SequenceEqual(hash)) MetricPoints.Unpack(packed, into);
    }

    private IEnumerable<(byte[] Hash, byte[] Packed)> Groups()
    {
        foreach (var part in _parts)
        {
            var rest = part.AsMemory();
            while (!rest.IsEmpty)
            {
                var hash = rest[..16].ToArray();
                ReadOnlySpan<byte> span = rest.Span[16..];
                var before = span.Length;
                var length = (int)MetricPoints.ReadVarint(ref span);
                var header = 16 + before - span.Length;
                yield return (hash, rest.Slice(header, length).ToArray());
                rest = rest[(header + length)..];
            }
        }
    }
}
