using System.IO.Compression;
using System.Text;

namespace Tracker.Core.Storage;

/// <summary>
/// An experiment's searchable runs as one blob, so a cold instance reads one object and the change feed's short tail
/// instead of every run row (issue 11 §2). The blob carries the feed position it covers (<see cref="Cursor"/>) and the
/// change keys at or after it that it already reflects.
///
/// Format: the 4 bytes <c>TRSS</c>, one version byte, then a Brotli stream of: cursor (ticks), seen keys, a string pool
/// (each distinct string once), and per run its id, pool indexes for its strings, times, param/tag pairs and metrics,
/// and its extras' JSON bytes. An unknown magic or version reads as no snapshot: the reader rebuilds by a scan and
/// writes its own.
/// </summary>
internal sealed record RunSnapshot(DateTimeOffset Cursor, IReadOnlyCollection<string> SeenKeys, IReadOnlyList<CompactRun> Runs)
{
    public const byte Version = 1;
    private static readonly byte[] Magic = "TRSS"u8.ToArray();

    public byte[] Encode()
    {
        var pool = new Dictionary<string, int>(StringComparer.Ordinal);
        var strings = new List<string>();
        int Index(string s)
        {
            if (!pool.TryGetValue(s, out var i))
            {
                pool[s] = i = strings.Count;
                strings.Add(s);
            }
            return i;
        }

        // Runs first, into a buffer of their own, so the pool is complete before it is written.
        using var runs = new MemoryStream();
        using (var w = new BinaryWriter(runs, Encoding.UTF8, leaveOpen: true))
        {
            w.Write7BitEncodedInt(Runs.Count);
            foreach (var run in Runs)
            {
                w.Write(run.RunId);
                w.Write7BitEncodedInt(Index(run.ExperimentId));
                w.Write7BitEncodedInt(Index(run.RunName));
                w.Write7BitEncodedInt(Index(run.UserId));
                w.Write7BitEncodedInt(Index(run.Status));
                w.Write7BitEncodedInt(Index(run.Lifecycle));
                w.Write(run.StartTime);
                w.Write((byte)((run.EndTime is null ? 0 : 1) | (run.DeletedTime is null ? 0 : 2)));
                if (run.EndTime is { } end) w.Write(end);
                if (run.DeletedTime is { } deleted) w.Write(deleted);
                WritePairs(w, run.ParamPairs, Index);
                WritePairs(w, run.TagPairs, Index);
                w.Write7BitEncodedInt(run.Metrics.Length);
                foreach (var m in run.Metrics)
                {
                    w.Write7BitEncodedInt(Index(m.Key));
                    w.Write(m.Value);
                    w.Write(m.Timestamp);
                    w.Write(m.Step);
                }
                w.Write7BitEncodedInt(run.Extras.Length);
                w.Write(run.Extras);
            }
        }

        using var output = new MemoryStream();
        output.Write(Magic);
        output.WriteByte(Version);
        using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var w = new BinaryWriter(brotli, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Cursor.UtcTicks);
            w.Write7BitEncodedInt(SeenKeys.Count);
            foreach (var key in SeenKeys) w.Write(key);
            w.Write7BitEncodedInt(strings.Count);
            foreach (var s in strings) w.Write(s);
            w.Flush();
            runs.Position = 0;
            runs.CopyTo(brotli);
        }
        return output.ToArray();
    }

    /// <summary>The snapshot in <paramref name="data"/>, its strings interned in <paramref name="pool"/>; null when the
    /// data is not a snapshot of a version this code reads (or is damaged).</summary>
    public static RunSnapshot? Decode(ReadOnlyMemory<byte> data, StringPool pool)
    {
        if (data.Length < Magic.Length + 1 || !data.Span[..Magic.Length].SequenceEqual(Magic) || data.Span[Magic.Length] != Version) return null;
        try
        {
            using var brotli = new BrotliStream(new MemoryStream(data[(Magic.Length + 1)..].ToArray(), writable: false), CompressionMode.Decompress);
            using var r = new BinaryReader(new BufferedStream(brotli, 64 * 1024), Encoding.UTF8);
            var cursor = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            var seen = new string[r.Read7BitEncodedInt()];
            for (var i = 0; i < seen.Length; i++) seen[i] = r.ReadString();
            var strings = new string[r.Read7BitEncodedInt()];
            for (var i = 0; i < strings.Length; i++) strings[i] = pool.Intern(r.ReadString());
            var runs = new CompactRun[r.Read7BitEncodedInt()];
            for (var i = 0; i < runs.Length; i++)
            {
                var runId = r.ReadString();
                var experimentId = strings[r.Read7BitEncodedInt()];
                var runName = strings[r.Read7BitEncodedInt()];
                var userId = strings[r.Read7BitEncodedInt()];
                var status = strings[r.Read7BitEncodedInt()];
                var lifecycle = strings[r.Read7BitEncodedInt()];
                var start = r.ReadInt64();
                var flags = r.ReadByte();
                long? end = (flags & 1) != 0 ? r.ReadInt64() : null;
                long? deleted = (flags & 2) != 0 ? r.ReadInt64() : null;
                var @params = ReadPairs(r, strings);
                var tags = ReadPairs(r, strings);
                var metrics = new CompactMetric[r.Read7BitEncodedInt()];
                for (var m = 0; m < metrics.Length; m++)
                    metrics[m] = new CompactMetric(strings[r.Read7BitEncodedInt()], r.ReadDouble(), r.ReadInt64(), r.ReadInt64());
                var extras = r.ReadBytes(r.Read7BitEncodedInt());
                runs[i] = new CompactRun(runId, experimentId, runName, userId, status, lifecycle, start, end, deleted, @params, tags, metrics, extras);
            }
            return new RunSnapshot(cursor, seen, runs);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IndexOutOfRangeException or FormatException or IOException)
        {
            return null;
        }
    }

    private static void WritePairs(BinaryWriter w, ReadOnlySpan<string> pairs, Func<string, int> index)
    {
        w.Write7BitEncodedInt(pairs.Length / 2);
        foreach (var s in pairs) w.Write7BitEncodedInt(index(s));
    }

    private static string[] ReadPairs(BinaryReader r, string[] strings)
    {
        var pairs = new string[2 * r.Read7BitEncodedInt()];
        for (var i = 0; i < pairs.Length; i++) pairs[i] = strings[r.Read7BitEncodedInt()];
        return pairs;
    }
}
