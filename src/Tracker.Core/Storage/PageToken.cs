using System.Text;
using System.Text.Json;

namespace Tracker.Core.Storage;

/// <summary>Opaque page tokens shaped like upstream's: base64 of <c>{"offset": N}</c>.</summary>
public static class PageToken
{
    public static string? Next(int offset, int pageSize, int total) =>
        offset + pageSize < total ? Encode(offset + pageSize) : null;

    public static string Encode(int offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"offset\": {offset}}}"));

    public static int Decode(string? token)
    {
        if (string.IsNullOrEmpty(token)) return 0;
        try
        {
            using var doc = JsonDocument.Parse(Convert.FromBase64String(token));
            if (doc.RootElement.TryGetProperty("offset", out var offset) && offset.TryGetInt32(out var n) && n >= 0) return n;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
        }
        throw MlflowException.InvalidParameter($"Invalid page token, could not base64-decode or parse: '{token}'");
    }
}
