using System.Text;
using System.Text.Json;

namespace Tracker.Core.Storage;

/// <summary>
/// Opaque page tokens shaped like upstream's, base64 of <c>{"offset": N}</c>, optionally naming the snapshot the first
/// page was cut from (metric history keeps one in memory so later pages need no storage reads).
/// </summary>
public readonly record struct PageToken(int Offset, string? Snapshot = null)
{
    public string Encode() => Convert.ToBase64String(Encoding.UTF8.GetBytes(Snapshot is null
        ? $"{{\"offset\": {Offset}}}"
        : $"{{\"offset\": {Offset}, \"snapshot\": {JsonSerializer.Serialize(Snapshot)}}}"));

    /// <summary>The token for the page after [offset, offset + pageSize), or null when that was the last page.</summary>
    public static string? Next(int offset, int pageSize, int total, string? snapshot = null) =>
        offset + pageSize < total ? new PageToken(offset + pageSize, snapshot).Encode() : null;

    public static PageToken Parse(string? token)
    {
        if (string.IsNullOrEmpty(token)) return new PageToken(0);
        try
        {
            using var doc = JsonDocument.Parse(Convert.FromBase64String(token));
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("offset", out var offset) && offset.ValueKind == JsonValueKind.Number &&
                offset.TryGetInt32(out var n) && n >= 0)
            {
                var snapshot = doc.RootElement.TryGetProperty("snapshot", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                return new PageToken(n, snapshot);
            }
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
        }
        throw MlflowException.InvalidParameter($"Invalid page token, could not base64-decode or parse: '{Echo.Truncate(token)}'");
    }

    public static int Decode(string? token) => Parse(token).Offset;
}
