using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tracker.Core.Storage;

/// <summary>
/// A PartitionKey or RowKey spelling of any string. Table Storage forbids '/', '\', '#', '?' and control characters in
/// keys, so those (and '%', the escape itself) become %XX; the mapping is injective, so two values never share a key.
/// A value whose escaped form would be long becomes "%%" and its SHA-256: keys stay far below the 1 KiB limit, and since
/// an escaped value has '%' only before two hex digits, no escaped value can spell a hashed one.
/// </summary>
public static class TableKeys
{
    public const int MaxEscapedLength = 256;

    public static string Escape(string value)
    {
        var escaped = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is '%' or '/' or '\\' or '#' or '?' || char.IsControl(c)) escaped.Append('%').Append(((int)c).ToString("X2"));
            else escaped.Append(c);
            if (escaped.Length > MaxEscapedLength) return "%%" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
        }
        return escaped.ToString();
    }

    private const long MaxMillis = 9_999_999_999_999; // year 2286: 13 digits of inverted time

    /// <summary>
    /// A row key that sorts newest first: 13 digits of inverted Unix milliseconds, then <paramref name="randomBytes"/>
    /// random bytes in lowercase hex (so two keys made in one millisecond stay apart, and an id is not guessable).
    /// </summary>
    public static string NewestFirst(long nowMillis, int randomBytes) =>
        (MaxMillis - nowMillis).ToString("D13", CultureInfo.InvariantCulture) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(randomBytes));
}
