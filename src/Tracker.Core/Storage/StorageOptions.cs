namespace Tracker.Core.Storage;

/// <summary>
/// Where Tracker keeps its data. Locally (Azurite) a connection string; in Azure the service URIs and the managed
/// identity's client id, from the Bicep app settings <c>Tracker__Storage__…</c>.
/// </summary>
public sealed class StorageOptions
{
    public const string Section = "Tracker:Storage";

    public string? ConnectionString { get; set; }
    public Uri? TableServiceUri { get; set; }
    public Uri? BlobServiceUri { get; set; }
    public Uri? QueueServiceUri { get; set; }
    /// <summary>Client id of the user-assigned managed identity; empty means DefaultAzureCredential.</summary>
    public string? ClientId { get; set; }
    /// <summary>The blob container holding every run's artifacts (created on first write if missing).</summary>
    public string ArtifactsContainer { get; set; } = "artifacts";
    /// <summary>The blob container holding each experiment's search snapshot (created on first write if missing); blobs
    /// are named after <see cref="TablePrefix"/>, so Trackers sharing an account keep theirs apart.</summary>
    public string SearchSnapshotsContainer { get; set; } = "search-snapshots";
    /// <summary>Memory an instance's search cache may hold, in estimated MB; whole experiments are evicted beyond it
    /// (about 0.6 KB per run of 5 params, 5 metrics and 3 tags: 128 MB holds some 200,000 such runs).</summary>
    public int SearchCacheMegabytes { get; set; } = 128;
    /// <summary>Prefix of every table name, so several Trackers (or test classes) can share one account.</summary>
    public string TablePrefix { get; set; } = "tracker";
    /// <summary>
    /// Put before every queue name (<see cref="QueueName"/>), so test classes sharing one Azurite do not consume each
    /// other's messages. Empty in Azure: the host reads the queue names from function.json as they are.
    /// </summary>
    public string QueuePrefix { get; set; } = "";
    /// <summary>History rows a run accumulates before they are folded into per-key compacted rows.</summary>
    public int HistoryRowsPerCompaction { get; set; } = 64;
    /// <summary>How long one tracking call may wait on storage in all (retries included) before it answers 503; well
    /// below the MLflow client's 120 s request timeout, so the client's own retries get their turn.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The storage queue that carries the logical queue <paramref name="name"/> (e.g. <c>model-promotions</c>).</summary>
    public string QueueName(string name) => QueuePrefix + name;

    public bool IsValid(out string error)
    {
        error = "";
        if (string.IsNullOrWhiteSpace(ConnectionString) && (TableServiceUri is null || BlobServiceUri is null))
        {
            error = $"Set {Section}:ConnectionString (Azurite) or {Section}:TableServiceUri and {Section}:BlobServiceUri (Azure).";
            return false;
        }
        if (ArtifactsContainer.Length is < 3 or > 63 || !ArtifactsContainer.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            error = $"{Section}:ArtifactsContainer must be a blob container name: 3-63 lowercase letters, digits or hyphens.";
            return false;
        }
        if (SearchSnapshotsContainer.Length is < 3 or > 63 || !SearchSnapshotsContainer.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            error = $"{Section}:SearchSnapshotsContainer must be a blob container name: 3-63 lowercase letters, digits or hyphens.";
            return false;
        }
        if (SearchCacheMegabytes < 1)
        {
            error = $"{Section}:SearchCacheMegabytes must be at least 1.";
            return false;
        }
        if (HistoryRowsPerCompaction < 1)
        {
            error = $"{Section}:HistoryRowsPerCompaction must be at least 1.";
            return false;
        }
        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromSeconds(100))
        {
            error = $"{Section}:RequestTimeout must be positive and at most 00:01:40 (the MLflow client gives up after 120 s).";
            return false;
        }
        if (TablePrefix.Length is 0 or > 40 || !char.IsAsciiLetter(TablePrefix[0]) || !TablePrefix.All(char.IsAsciiLetterOrDigit))
        {
            error = $"{Section}:TablePrefix must be 1-40 ASCII letters or digits starting with a letter.";
            return false;
        }
        if (QueuePrefix.Length > 20 || !QueuePrefix.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            error = $"{Section}:QueuePrefix must be at most 20 lowercase letters, digits or hyphens.";
            return false;
        }
        return true;
    }
}
