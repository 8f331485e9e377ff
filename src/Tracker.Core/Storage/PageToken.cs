using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Tracker.Core.Storage;

/// <summary>
/// Opaque page tokens: where the next page starts, optionally naming the snapshot the first page was cut from (metric
/// history keeps one in memory so later pages need no storage reads), signed so that a client can neither forge one nor
/// carry one to another query or another deployment (security baseline §1.6; issue 8). The signature is HMAC-SHA256
/// under the server's "page-token" key (<c>ServerKeys</c>) over the token's content and the <see cref="PageQuery"/>
/// digest, cut to 128 bits.
///
/// Layout, base64url without padding (safe in a query string as it is): a format byte (1: offset, 2: offset and
/// snapshot), the offset (int32, big-endian), the snapshot id (16 bytes, format 2 only), the 16-byte tag: 28 characters,
/// or 50 with a snapshot. Upstream MLflow's unsigned <c>{"offset": N}</c> tokens are not accepted.
/// </summary>
public readonly record struct PageToken(int Offset, Guid? Snapshot = null)
{
    /// <summary>The <c>ServerKeys</c> purpose whose key signs page tokens.</summary>
    public const string KeyPurpose = "page-token";

    private const byte OffsetOnly = 1;
    private const byte WithSnapshot = 2;
    private const int TagBytes = 16;
    private const int MaxTokenChars = 64;

    public string Encode(byte[] key, PageQuery query)
    {
        Span<byte> token = stackalloc byte[TokenLength(Snapshot is null ? OffsetOnly : WithSnapshot)];
        var body = token[..^TagBytes];
        body[0] = Snapshot is null ? OffsetOnly : WithSnapshot;
        BinaryPrimitives.WriteInt32BigEndian(body[1..], Offset);
        Snapshot?.TryWriteBytes(body[5..]);
        Tag(key, body, query, token[^TagBytes..]);
        return Base64Url.EncodeToString(token);
    }

    /// <summary>The token for the page after [offset, offset + pageSize), or null when that was the last page.</summary>
    public static string? Next(int offset, int pageSize, int total, byte[] key, PageQuery query, Guid? snapshot = null) =>
        offset + pageSize < total ? new PageToken(offset + pageSize, snapshot).Encode(key, query) : null;

    /// <summary>Whether a request carries a token at all; the first page needs no key.</summary>
    public static bool IsGiven(string? token) => !string.IsNullOrEmpty(token);

    /// <summary>The page a token points to, once its tag verifies for this key and query; no token is the first page.</summary>
    public static PageToken Parse(string? token, byte[] key, PageQuery query)
    {
        if (!IsGiven(token)) return new PageToken(0);
        Span<byte> bytes = stackalloc byte[48];
        if (token!.Length > MaxTokenChars ||
            !Base64Url.IsValid(token, out var length) || length > bytes.Length ||
            !Base64Url.TryDecodeFromChars(token, bytes, out length) ||
            length < 1 || length != TokenLength(bytes[0]))
            throw MlflowException.InvalidParameter($"Invalid page token, could not base64-decode or parse: '{Echo.Truncate(token)}'");
        var body = bytes[..(length - TagBytes)];
        Span<byte> expected = stackalloc byte[TagBytes];
        Tag(key, body, query, expected);
        var offset = BinaryPrimitives.ReadInt32BigEndian(body[1..]);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes[(length - TagBytes)..length]) || offset < 0)
            throw MlflowException.InvalidParameter(
                "Invalid page token: it was not issued by this server for this query. A page token continues only the " +
                "search it came from: send it with that search's parameters unchanged.");
        return new PageToken(offset, body[0] == WithSnapshot ? new Guid(body[5..]) : null);
    }

    /// <summary>A token's length in bytes for its format byte; -1, which no token has, for an unknown format.</summary>
    private static int TokenLength(byte format) => format switch
    {
        OffsetOnly => 1 + 4 + TagBytes,
        WithSnapshot => 1 + 4 + 16 + TagBytes,
        _ => -1,
    };

    private static void Tag(byte[] key, ReadOnlySpan<byte> body, PageQuery query, Span<byte> tag)
    {
        Span<byte> message = stackalloc byte[body.Length + query.Digest.Length];
        body.CopyTo(message);
        query.Digest.CopyTo(message[body.Length..]);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, message, mac);
        mac[..TagBytes].CopyTo(tag);
    }
}
