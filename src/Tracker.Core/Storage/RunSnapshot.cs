using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Tracker.Core.Storage;

/// <summary>
/// An experiment's searchable runs as one blob, so a cold instance reads one object and the change feed's short tail
/// instead of every run row (issue 11 §2). The blob carries the feed position it covers (<see cref="Cursor"/>) and the
/// change keys at or after it that it already reflects.
///
/// Format: the 4 bytes <c>TRSS</c>, one version byte, then a Brotli stream of blocks, each an int32 length and that many
/// bytes holding whole items: first the cursor (ticks) and the counts of seen keys, strings and runs, then the seen keys,
/// the string pool (each distinct string once), and the runs (id, pool indexes for its strings, times, param/tag pairs,
/// metrics, its extras' JSON bytes). Items are <see cref="BinaryWriter"/>'s encodings. Blocks let the reader decompress
/// straight from the download and parse each block from a span, with one buffer per block rather than per field: at
/// 100,000 runs the snapshot is the cold search's largest cost. An unknown magic or version reads as no snapshot: the
/// reader rebuilds by a scan and writes its own.
/// </summary>
internal sealed record RunSnapshot(DateTimeOffset Cursor, IReadOnlyCollection<string> SeenKeys, IReadOnlyList<CompactRun> Runs)
{
    public const byte Version = 2;
    private static readonly byte[] Magic = "TRSS"u8.ToArray();
    /// <summary>A block is written once it holds this many bytes (the item that crosses it stays whole).</summary>
    private const int BlockBytes = 64 * 1024;
    /// <summary>No writer makes a block this large: a length beyond it is damage, not a reason to allocate.</summary>
    private const int MaxBlockBytes = 64 * 1024 * 1024;

    public byte[] Encode()
    {
        // The pool is indexed first, so strings can be written before the runs that use them.
        var pool = new Dictionary<string, int>(StringComparer.Ordinal);
        var strings = new List<string>();
        void Index(string s)
        {
            if (pool.TryAdd(s, strings.Count)) strings.Add(s);
        }
        foreach (var run in Runs)
        {
            Index(run.ExperimentId);
            Index(run.RunName);
            Index(run.UserId);
            Index(run.Status);
            Index(run.Lifecycle);
            foreach (var s in run.ParamPairs) Index(s);
            foreach (var s in run.TagPairs) Index(s);
            foreach (var m in run.Metrics) Index(m.Key);
        }

        using var output = new MemoryStream();
        output.Write(Magic);
        output.WriteByte(Version);
        using (var blocks = new BlockWriter(new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true)))
        {
            var w = blocks.Items;
            w.Write(Cursor.UtcTicks);
            w.Write7BitEncodedInt(SeenKeys.Count);
            w.Write7BitEncodedInt(strings.Count);
            w.Write7BitEncodedInt(Runs.Count);
            blocks.EndBlock(); // the header is a block of its own
            foreach (var key in SeenKeys)
            {
                w.Write(key);
                blocks.EndItem();
            }
            foreach (var s in strings)
            {
                w.Write(s);
                blocks.EndItem();
            }
            foreach (var run in Runs)
            {
                w.Write(run.RunId);
                w.Write7BitEncodedInt(pool[run.ExperimentId]);
                w.Write7BitEncodedInt(pool[run.RunName]);
                w.Write7BitEncodedInt(pool[run.UserId]);
                w.Write7BitEncodedInt(pool[run.Status]);
                w.Write7BitEncodedInt(pool[run.Lifecycle]);
                w.Write(run.StartTime);
                w.Write((byte)((run.EndTime is null ? 0 : 1) | (run.DeletedTime is null ? 0 : 2)));
                if (run.EndTime is { } end) w.Write(end);
                if (run.DeletedTime is { } deleted) w.Write(deleted);
                WritePairs(w, run.ParamPairs, pool);
                WritePairs(w, run.TagPairs, pool);
                w.Write7BitEncodedInt(run.Metrics.Length);
                foreach (var m in run.Metrics)
                {
                    w.Write7BitEncodedInt(pool[m.Key]);
                    w.Write(m.Value);
                    w.Write(m.Timestamp);
                    w.Write(m.Step);
                }
                w.Write7BitEncodedInt(run.Extras.Length);
                w.Write(run.Extras);
                blocks.EndItem();
            }
        }
        return output.ToArray();
    }

    /// <summary>The snapshot <paramref name="data"/> holds, its strings interned in <paramref name="pool"/>; null when it
    /// is not a snapshot of a version this code reads (or is damaged). Reads as the data arrives: a download decompresses
    /// and decodes while the rest is still on its way. The stream's own failures (a broken download) are the caller's.</summary>
    public static async Task<RunSnapshot?> ReadAsync(Stream data, StringPool pool, CancellationToken ct)
    {
        var head = new byte[Magic.Length + 1];
        if (await data.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct) < head.Length ||
            !head.AsSpan(0, Magic.Length).SequenceEqual(Magic) || head[^1] != Version) return null;
        var blocks = new BlockReader(new BrotliStream(data, CompressionMode.Decompress, leaveOpen: true));
        try
        {
            var header = await blocks.NextAsync(ct);
            var (cursor, seenCount, stringCount, runCount) = ReadHeader(header.Span);
            var seen = new string[seenCount];
            var strings = new string[stringCount];
            var runs = new CompactRun[runCount];
            int seenRead = 0, stringsRead = 0, runsRead = 0;
            while (seenRead < seen.Length || stringsRead < strings.Length || runsRead < runs.Length)
            {
                var block = await blocks.NextAsync(ct);
                var r = new SpanReader(block.Span);
                while (!r.AtEnd)
                {
                    if (seenRead < seen.Length) seen[seenRead++] = r.ReadString();
                    else if (stringsRead < strings.Length) strings[stringsRead++] = pool.Intern(r.ReadString());
                    else if (runsRead < runs.Length) runs[runsRead++] = ReadRun(ref r, strings);
                    else throw new InvalidDataException("The snapshot holds more than its header counts.");
                }
            }
            return new RunSnapshot(new DateTimeOffset(cursor, TimeSpan.Zero), seen, runs);
        }
        // Brotli reports damaged data as InvalidOperationException.
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or EndOfStreamException or IndexOutOfRangeException or ArgumentOutOfRangeException
                                      or OverflowException or FormatException)
        {
            return null;
        }
        finally
        {
            blocks.Dispose();
        }
    }

    private static (long Cursor, int Seen, int Strings, int Runs) ReadHeader(ReadOnlySpan<byte> block)
    {
        var r = new SpanReader(block);
        var header = (r.ReadInt64(), r.Read7BitEncodedInt(), r.Read7BitEncodedInt(), r.Read7BitEncodedInt());
        if (!r.AtEnd) throw new InvalidDataException("The snapshot's header block has trailing bytes.");
        return header;
    }

    private static CompactRun ReadRun(ref SpanReader r, string[] strings)
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
        var @params = ReadPairs(ref r, strings);
        var tags = ReadPairs(ref r, strings);
        var metrics = new CompactMetric[r.Read7BitEncodedInt()];
        for (var m = 0; m < metrics.Length; m++)
            metrics[m] = new CompactMetric(strings[r.Read7BitEncodedInt()], r.ReadDouble(), r.ReadInt64(), r.ReadInt64());
        var extras = r.ReadBytes(r.Read7BitEncodedInt());
        return new CompactRun(runId, experimentId, runName, userId, status, lifecycle, start, end, deleted, @params, tags, metrics, extras);
    }

    private static void WritePairs(BinaryWriter w, ReadOnlySpan<string> pairs, Dictionary<string, int> pool)
    {
        w.Write7BitEncodedInt(pairs.Length / 2);
        foreach (var s in pairs) w.Write7BitEncodedInt(pool[s]);
    }

    private static string[] ReadPairs(ref SpanReader r, string[] strings)
    {
        var pairs = new string[2 * r.Read7BitEncodedInt()];
        for (var i = 0; i < pairs.Length; i++) pairs[i] = strings[r.Read7BitEncodedInt()];
        return pairs;
    }

    /// <summary>Items written into a buffer that goes out as one length-prefixed block once it is big enough.</summary>
    private sealed class BlockWriter : IDisposable
    {
        private readonly Stream _output;
        private readonly MemoryStream _block = new();

        public BlockWriter(Stream output)
        {
            _output = output;
            Items = new BinaryWriter(_block, Encoding.UTF8, leaveOpen: true);
        }

        public BinaryWriter Items { get; }

        public void EndItem()
        {
            if (_block.Length >= BlockBytes) EndBlock();
        }

        public void EndBlock()
        {
            Items.Flush();
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, (int)_block.Length);
            _output.Write(length);
            _output.Write(_block.GetBuffer(), 0, (int)_block.Length);
            _block.SetLength(0);
        }

        public void Dispose()
        {
            if (_block.Length > 0) EndBlock();
            _output.Dispose();
        }
    }

    /// <summary>Length-prefixed blocks from a stream, each into one pooled buffer (valid until the next block).</summary>
    private sealed class BlockReader(Stream input) : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BlockBytes + 4096);

        public async Task<ReadOnlyMemory<byte>> NextAsync(CancellationToken ct)
        {
            await input.ReadExactlyAsync(_buffer.AsMemory(0, 4), ct);
            var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer);
            if (length is < 0 or > MaxBlockBytes) throw new InvalidDataException($"A snapshot block of {length} bytes.");
            if (length > _buffer.Length)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(length);
            }
            await input.ReadExactlyAsync(_buffer.AsMemory(0, length), ct);
            return _buffer.AsMemory(0, length);
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            input.Dispose();
        }
    }

    /// <summary><see cref="BinaryReader"/>'s encodings, read from a span.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        public readonly bool AtEnd => _at == _data.Length;

        public byte ReadByte() => _data[_at++];

        public long ReadInt64()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(_data[_at..]);
            _at += 8;
            return value;
        }

        public double ReadDouble() => BitConverter.Int64BitsToDouble(ReadInt64());

        public int Read7BitEncodedInt()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = _data[_at++];
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80) return (int)value;
            }
            throw new FormatException("A 7-bit encoded integer longer than 5 bytes.");
        }

        public string ReadString()
        {
            var length = Read7BitEncodedInt();
            var value = Encoding.UTF8.GetString(_data.Slice(_at, length));
            _at += length;
            return value;
        }

        public byte[] ReadBytes(int count)
        {
            var value = _data.Slice(_at, count).ToArray();
            _at += count;
            return value;
        }
    }
}
