namespace Tracker.Core.Storage;

/// <summary>
/// One experiment's shared strings: param and tag keys and values, metric keys, user ids and statuses repeat across a
/// sweep's runs, so each is held once. Values longer than <see cref="MaxPooledLength"/> (model histories, notes) are
/// rarely repeated and stay with their run. Not thread-safe: a view's lock guards it.
/// </summary>
internal sealed class StringPool
{
    public const int MaxPooledLength = 256;
    // A Dictionary<string, string> entry (hash, next, key, value) and its bucket.
    private const int EntryBytes = 28;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    /// <summary>The pool's own estimated bytes: its strings and its dictionary.</summary>
    public long Bytes { get; private set; }

    public int Count => _strings.Count;

    public string Intern(string value)
    {
        if (value.Length > MaxPooledLength) return value;
        if (_strings.TryGetValue(value, out var pooled)) return pooled;
        _strings.Add(value, value);
        Bytes += EntryBytes + StringBytes(value);
        return value;
    }

    /// <summary>A string's size on the 64-bit CLR: header, method table, length, UTF-16 chars and terminator, 8-aligned.</summary>
    public static long StringBytes(string value) => (22 + 2L * value.Length + 7) & ~7L;

    /// <summary>The bytes a string costs its run: nothing when the pool holds it.</summary>
    public static long UnpooledBytes(string value) => value.Length > MaxPooledLength ? StringBytes(value) : 0;
}
