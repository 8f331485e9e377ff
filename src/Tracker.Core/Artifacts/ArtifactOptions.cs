namespace Tracker.Core.Artifacts;

/// <summary>How artifacts are handed out (<c>Tracker:Artifacts</c>).</summary>
public sealed class ArtifactOptions
{
    public const string Section = "Tracker:Artifacts";

    /// <summary>How long an upload URL (single PUT, or one multipart part) stays valid.</summary>
    public TimeSpan UploadUrlLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a download URL stays valid.</summary>
    public TimeSpan DownloadUrlLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Downloads of files at least this large answer 307 to a signed read URL straight to Blob Storage. The default, 0,
    /// redirects every download: artifact bytes never come from Tracker's origin (security baseline §1.7), never bill
    /// function time and never meet the 230 s HTTP cut. Raise it only for clients that cannot reach Blob Storage;
    /// -1 streams everything through Tracker (as an attachment, with nosniff).
    /// </summary>
    public long RedirectDownloadsFromBytes { get; set; }

    public bool IsValid() =>
        UploadUrlLifetime > TimeSpan.Zero && UploadUrlLifetime <= TimeSpan.FromHours(2) &&
        DownloadUrlLifetime > TimeSpan.Zero && DownloadUrlLifetime <= TimeSpan.FromHours(2) &&
        RedirectDownloadsFromBytes >= -1;
}
