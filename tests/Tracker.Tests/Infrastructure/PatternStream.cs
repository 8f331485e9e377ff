namespace Tracker.Tests.Infrastructure;

/// <summary>
/// A read-only stream of <paramref name="length"/> deterministic pseudo-random bytes made on the fly, so a test can
/// move hundreds of megabytes without holding them, and check them again by reading a second instance.
/// </summary>
public sealed class PatternStream(long length, ulong seed = 0x9E3779B97F4A7C15) : Stream
{
    private ulong _state = seed;
    private long _position;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < n; i++)
        {
            if ((_position + i) % 8 == 0)
            {
                _state ^= _state << 13; // xorshift64
                _state ^= _state >> 7;
                _state ^= _state << 17;
            }
            buffer[i] = (byte)(_state >> (int)((_position + i) % 8 * 8));
        }
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>SHA-256 of a whole stream, read in small pieces.</summary>
    public static async Task<byte[]> HashAsync(Stream stream)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) sha.AppendData(buffer, 0, read);
        return sha.GetHashAndReset();
    }
}
