using System.Globalization;

namespace Tracker.Bench;

/// <summary>
/// What a Tracker instance's search cache holds, from its diagnostic header <c>X-Tracker-Search-Cache: runs=&lt;n&gt;;
/// bytes=&lt;m&gt;</c> (sent with <c>Tracker__Diagnostics__StorageRequestHeader=true</c>): every experiment the instance
/// has cached, so in a process that has searched one experiment only, <see cref="BytesPerRun"/> is that experiment's.
/// </summary>
public sealed record SearchCacheState(long Runs, long Bytes)
{
    public double? BytesPerRun => Runs > 0 ? (double)Bytes / Runs : null;

    /// <summary>The header's value, or null when it is absent or not in that shape (a server without it, or MLflow).</summary>
    public static SearchCacheState? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        long? runs = null, bytes = null;
        foreach (var part in header.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0 || !long.TryParse(part.AsSpan(eq + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            switch (part[..eq].Trim())
            {
                case "runs":
                    runs = value;
                    break;
                case "bytes":
                    bytes = value;
                    break;
            }
        }

        return runs is { } r && bytes is { } b ? new SearchCacheState(r, b) : null;
    }
}
