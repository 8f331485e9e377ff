using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Tracker.Core.Storage;

/// <summary>
/// The query a page token continues, as a SHA-256 digest of the operation and the request fields that choose and order
/// its result set (see each store's call). A token carries no query of its own: it is signed over this digest, so it
/// verifies only against the same query (<see cref="PageToken"/>). Fields that do not change the result set, such as
/// the page size, are left out. Once callers have identities, the caller is one more field.
/// </summary>
public sealed class PageQuery
{
    private readonly byte[] _digest;

    private PageQuery(byte[] digest) => _digest = digest;

    public ReadOnlySpan<byte> Digest => _digest;

    /// <param name="operation">The search it belongs to, e.g. "runs/search", so two searches with equal fields differ.</param>
    /// <param name="fields">Each field as a list of values (a scalar as a list of one); encoded with counts and lengths,
    /// so no two different field lists share an encoding.</param>
    public static PageQuery Of(string operation, params IEnumerable<string?>[] fields)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, operation);
        AppendInt(hash, fields.Length);
        foreach (var field in fields)
        {
            var values = field as IReadOnlyCollection<string?> ?? field.ToList();
            AppendInt(hash, values.Count);
            foreach (var value in values) Append(hash, value);
        }
        return new PageQuery(hash.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, string? value)
    {
        if (value is null)
        {
            AppendInt(hash, -1);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(value);
        AppendInt(hash, bytes.Length);
        hash.AppendData(bytes);
    }

    private static void AppendInt(IncrementalHash hash, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        hash.AppendData(bytes);
    }
}
