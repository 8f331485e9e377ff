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
    /// Downloads of files at least this large answer 307 to a signed read URL straight to Blob Storage, so they never
    /// bill function time nor meet the 230 s HTTP cut. The default, -1, streams every download through Tracker: recent
    /// MLflow clients fetch artifacts with redirects turned off, and would store a 307's empty body as the file. Set it
    /// (0 = always) only when every client follows redirects; signed URLs are always available through the native API.
    /// </summary>
    public long RedirectDownloadsFromBytes { get; set; } = -1;

    public bool IsValid() =>
        UploadUrlLifetime > TimeSpan.Zero && UploadUrlLifetime <= TimeSpan.FromHours(2) &&
        DownloadUrlLifetime > TimeSpan.Zero && DownloadUrlLifetime <= TimeSpan.FromHours(2) &&
        RedirectDownloadsFromBytes >= -1;
}
