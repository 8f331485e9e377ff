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
    /// Files at least this large are not streamed through Tracker: a GET answers 307 to a read URL straight to Blob
    /// Storage, so big checkpoints neither bill function time nor hit the 230 s HTTP cut. -1 streams everything.
    /// </summary>
    public long RedirectDownloadsFromBytes { get; set; } = 64L * 1024 * 1024;

    public bool IsValid() =>
        UploadUrlLifetime > TimeSpan.Zero && UploadUrlLifetime <= TimeSpan.FromHours(2) &&
        DownloadUrlLifetime > TimeSpan.Zero && DownloadUrlLifetime <= TimeSpan.FromHours(2) &&
        RedirectDownloadsFromBytes >= -1;
}
