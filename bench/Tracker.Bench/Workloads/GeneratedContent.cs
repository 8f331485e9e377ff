using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Tracker.Bench.Workloads;

/// <summary>
/// The bytes of a test artifact, computed from (seed, offset) on demand, so a gigabyte file is sent and checked
/// without a gigabyte in memory. Word <c>i</c> (8 bytes, little-endian) is SplitMix64 of <c>seed + i·φ</c>:
/// incompressible, different for every seed (so a download of the wrong file fails), and any slice can be produced
/// without producing what comes before it (so multipart parts are independent).
/// </summary>
public sealed class GeneratedContent(ulong seed, long length)
{
    private const int ChunkBytes = 1 << 20;

    public long Length => length;

    /// <summary>A read-only stream of <paramref name="count"/> bytes from <paramref name="offset"/>.</summary>
    public Stream Open(long offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"[{offset}, {offset + count}) is not inside [0, {length})");
        }

        return new GeneratedStream(this, offset, count);
    }

    /// <summary>
    /// Reads <paramref name="actual"/> to its end, comparing every byte with the content, chunk by chunk. Throws
    /// with the first differing offset, or with the length, if the bytes are not exactly the content.
    /// </summary>
    public async Task VerifyAsync(Stream actual, string what, CancellationToken ct)
    {
        var received = new byte[ChunkBytes];
        var expected = new byte[ChunkBytes];
        long offset = 0;
        while (true)
        {
            var read = await actual.ReadAtLeastAsync(received, received.Length, throwOnEndOfStream: false, ct);
            if (read == 0)
            {
                break;
            }

            if (offset + read > length)
            {
                throw new BenchException($"{what}: got more than the {length} bytes uploaded");
            }

            Fill(offset, expected.AsSpan(0, read));
            var differsAt = received.AsSpan(0, read).CommonPrefixLength(expected.AsSpan(0, read));
            if (differsAt < read)
            {
                throw new BenchException($"{what}: byte {offset + differsAt} differs from the uploaded content");
            }

            offset += read;
        }

        if (offset != length)
        {
            throw new BenchException($"{what}: got {offset} bytes, uploaded {length}");
        }
    }

    /// <summary>Writes the content's bytes <c>[offset, offset + destination.Length)</c> into <paramref name="destination"/>.</summary>
    public void Fill(long offset, Span<byte> destination)
    {
        var word = offset >> 3;
        var skip = (int)(offset & 7);
        Span<byte> partial = stackalloc byte[8];
        if (skip != 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(partial, Word(word++));
            var head = Math.Min(8 - skip, destination.Length);
            partial.Slice(skip, head).CopyTo(destination);
            destination = destination[head..];
        }

        var whole = destination.Length >> 3;
        var words = MemoryMarshal.Cast<byte, ulong>(destination[..(whole << 3)]);
        for (var i = 0; i < words.Length; i++)
        {
            var value = Word(word + i);
            words[i] = BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
        }

        var tail = destination[(whole << 3)..];
        if (tail.Length > 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(partial, Word(word + whole));
            partial[..tail.Length].CopyTo(tail);
        }
    }

    private ulong Word(long index)
    {
        var z = seed + ((ulong)index * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Not seekable: the request's Content-Length is set from the known length instead.</summary>
    private sealed class GeneratedStream(GeneratedContent content, long start, long count) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, count - _position);
            content.Fill(start + _position, buffer[..n]);
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested
                ? ValueTask.FromCanceled<int>(cancellationToken)
                : ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
