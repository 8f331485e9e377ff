using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Artifacts;

/// <summary>One entry of a directory listing: a basename, and a size for files.</summary>
public sealed record ArtifactFile(string Name, bool IsDir, long? FileSize);

/// <summary>A URL straight to Blob Storage, with what a plain HTTP client needs to use it.</summary>
public sealed record SignedUrl(Uri Url, string Method, IReadOnlyDictionary<string, string> Headers, DateTimeOffset ExpiresAt);

/// <summary>A download: either a stream to relay, or (for big files) a signed URL to send the client to.</summary>
public sealed record ArtifactDownload(Stream? Content, long Length, string ContentType, Uri? Redirect);

/// <summary>
/// A multipart upload: one signed Put Block URL per part, committed by <see cref="ArtifactStore.CompleteMultipartUploadAsync"/>.
/// The URLs differ only in their block id and are made one at a time as they are written out: 50,000 of them are ~19 MiB.
/// </summary>
public sealed record MultipartUpload(string UploadId, int PartCount, string SignedBlobUrl)
{
    public string PartUrl(int part) => $"{SignedBlobUrl}&comp=block&blockid={Uri.EscapeDataString(ArtifactStore.BlockId(UploadId, part))}";
}

/// <summary>
/// Run and logged-model artifacts in one blob container (<see cref="ArtifactLocation"/> names them). Bytes either stream through in
/// fixed-size blocks, so a gigabyte never sits in memory, or bypass Tracker entirely through short-lived SAS URLs
/// scoped to one blob. Every operation first checks the run: unknown runs and runs of deleted experiments do not
/// exist, and a deleted run takes no writes.
/// </summary>
public sealed class ArtifactStore
{
    /// <summary>Azure's limit on a block blob's committed blocks.</summary>
    public const int MaxParts = 50_000;
    /// <summary>Block size of streamed uploads; with two in flight, about 12 MiB of buffers per upload at most.</summary>
    private const int StreamBlockBytes = 4 * 1024 * 1024;
    /// <summary>Put Block From URL's limit on one block.</summary>
    private const long CopyBlockBytes = 4000L * 1024 * 1024;
    /// <summary>
    /// Where bigger proxied uploads are staged, apart from every run's artifact directory; a lifecycle rule in
    /// infra/app/storage.bicep deletes what is left there after a day.
    /// </summary>
    internal const string StagingPrefix = "uploads/";
    /// <summary>Tries to commit a staged upload into its file before concurrent writers make it a 503.</summary>
    private const int MaxCommitAttempts = 8;
    private const string InvalidBlockList = "InvalidBlockList";
    /// <summary>How long the server-side copy out of a staging blob may take to start.</summary>
    private static readonly TimeSpan CopySourceLifetime = TimeSpan.FromHours(1);
    /// <summary>Multipart URLs live the upload lifetime plus this per part, never longer than <see cref="MaxMultipartLifetime"/>.</summary>
    private static readonly TimeSpan PerPartAllowance = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxMultipartLifetime = TimeSpan.FromHours(4);
    /// <summary>SAS start this far back, for clock skew between Tracker, the client and storage.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(15);

    private readonly BlobContainerClient _container;
    private readonly IBlobSasSigner _signer;
    private readonly TrackingStore _tracking;
    private readonly ArtifactOptions _options;
    private readonly TimeProvider _time;
    private readonly OnceUntilSuccess _containerReady;
    private readonly ILogger<ArtifactStore> _logger;

    public ArtifactStore(
        BlobServiceClient blobs, IBlobSasSigner signer, TrackingStore tracking,
        IOptions<StorageOptions> storage, IOptions<ArtifactOptions> options, TimeProvider time, ILogger<ArtifactStore> logger)
    {
        _logger = logger;
        _container = blobs.GetBlobContainerClient(storage.Value.ArtifactsContainer);
        _signer = signer;
        _tracking = tracking;
        _options = options.Value;
        _time = time;
        _containerReady = new OnceUntilSuccess(() => StorageErrors.Call(() => _container.CreateIfNotExistsAsync()));
    }

    /// <summary>
    /// Writes the file so that concurrent writers of one path each succeed, the last one's bytes winning, and a broken
    /// upload leaves the old file (or none). A body known to fit one block is one Put Blob, which replaces the blob
    /// atomically. A bigger one must not be staged as blocks of the file itself: committing a block list drops every
    /// uncommitted block of the blob, another writer's in-flight ones included, whose commit then fails. So it streams
    /// into a staging blob of its own first (outside every run's artifact directory, so no listing shows it), and from
    /// there is copied into the file server-side and committed at once, which can simply be repeated if another
    /// writer's commit came in between.
    /// </summary>
    /// <param name="length">The body's length if the client sent one.</param>
    public async Task UploadAsync(ArtifactLocation at, Stream content, long? length, CancellationToken ct)
    {
        await RequireOwnerAsync(at, write: true, ct);
        await EnsureContainerAsync();
        var headers = new BlobHttpHeaders { ContentType = ArtifactContentTypes.Guess(at.FileName) };
        if (length <= StreamBlockBytes)
        {
            // Buffered, so the SDK knows the length and sends one Put Blob rather than a block or two and a commit.
            using var body = new MemoryStream((int)length.Value);
            await content.CopyToAsync(body, ct);
            body.Position = 0;
            await StorageErrors.Call(() => _container.GetBlobClient(at.BlobName).UploadAsync(body, new BlobUploadOptions { HttpHeaders = headers }, ct));
            return;
        }
        var staging = _container.GetBlobClient($"{StagingPrefix}{at.ExperimentId}/{at.OwnerId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}");
        try
        {
            var options = new BlobUploadOptions
            {
                TransferOptions = new StorageTransferOptions
                {
                    InitialTransferSize = StreamBlockBytes,
                    MaximumTransferSize = StreamBlockBytes,
                    MaximumConcurrency = 2,
                },
            };
            await StorageErrors.Call(() => staging.UploadAsync(content, options, ct));
            var size = (await StorageErrors.Call(() => staging.GetPropertiesAsync(cancellationToken: ct))).Value.ContentLength;
            var source = await _signer.SignAsync(staging, SasFor(staging, BlobSasPermissions.Read, CopySourceLifetime), ct);
            await CommitCopyAsync(at, source, size, headers, ct);
        }
        finally
        {
            await DeleteStagingAsync(staging);
        }
    }

    /// <summary>
    /// Stages the staging blob's bytes as blocks of the file (server-side, up to 4000 MiB each) and commits them right
    /// away. Another writer's commit in between drops those blocks (<c>InvalidBlockList</c>); the bytes are still in
    /// the staging blob, so it is done again with fresh block ids, after a random pause so colliding writers part.
    /// </summary>
    private async Task CommitCopyAsync(ArtifactLocation at, Uri source, long size, BlobHttpHeaders headers, CancellationToken ct)
    {
        var blob = _container.GetBlockBlobClient(at.BlobName);
        for (var attempt = 1; ; attempt++)
        {
            // Block ids of the multipart shape: Azure wants every uncommitted block id of a blob to have one length.
            var uploadId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var ids = new List<string>();
            try
            {
                for (long offset = 0; offset < size; offset += CopyBlockBytes)
                {
                    var id = BlockId(uploadId, ids.Count + 1);
                    var range = new HttpRange(offset, Math.Min(CopyBlockBytes, size - offset));
                    await StorageErrors.Call(() => blob.StageBlockFromUriAsync(source, id, new StageBlockFromUriOptions { SourceRange = range }, ct));
                    ids.Add(id);
                }
                await StorageErrors.Call(() => blob.CommitBlockListAsync(ids, new CommitBlockListOptions { HttpHeaders = headers }, ct));
                return;
            }
            catch (RequestFailedException e) when (e.ErrorCode == InvalidBlockList)
            {
                if (attempt == MaxCommitAttempts) throw StorageErrors.TooMuchContention($"the artifact '{at.Path}'");
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 100 * attempt)), _time, ct);
            }
        }
    }

    /// <summary>
    /// Best effort, whatever became of the upload: a staging blob left behind (say, the process died) is invisible and
    /// harmless, and outside every run's artifacts, where a lifecycle rule on <see cref="StagingPrefix"/> can sweep it.
    /// </summary>
    private async Task DeleteStagingAsync(BlobClient staging)
    {
        try
        {
            await staging.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        }
        catch (Exception e) when (e is RequestFailedException || StorageErrors.IsTransient(e))
        {
            _logger.LogWarning(e, "Could not delete the upload staging blob {Blob}", staging.Name);
        }
    }

    /// <summary>
    /// A download: the bytes to relay, or a signed URL for files from <see cref="ArtifactOptions.RedirectDownloadsFromBytes"/> up.
    /// </summary>
    public async Task<ArtifactDownload> OpenAsync(ArtifactLocation at, CancellationToken ct)
    {
        if (_options.RedirectDownloadsFromBytes == 0)
        {
            var signed = await DownloadUrlAsync(at, ct);
            return new ArtifactDownload(null, 0, ArtifactContentTypes.Binary, signed.Url);
        }
        await RequireOwnerAsync(at, write: false, ct);
        BlobDownloadStreamingResult result = await ReadIfExistsAsync(at, () => _container.GetBlobClient(at.BlobName).DownloadStreamingAsync(cancellationToken: ct));
        var length = result.Details.ContentLength;
        if (_options.RedirectDownloadsFromBytes > 0 && length >= _options.RedirectDownloadsFromBytes)
        {
            result.Dispose();
            return new ArtifactDownload(null, length, ArtifactContentTypes.Binary, (await SignDownloadAsync(at, ct)).Url);
        }
        return new ArtifactDownload(result.Content, length, ArtifactContentTypes.Guess(at.FileName), null);
    }

    /// <summary>The directory's entries, sorted; empty for a file or a path that does not exist (MLflow's contract).</summary>
    public async Task<IReadOnlyList<ArtifactFile>> ListAsync(ArtifactLocation directory, CancellationToken ct)
    {
        await RequireOwnerAsync(directory, write: false, ct);
        var prefix = directory.BlobName + "/";
        var files = new List<ArtifactFile>();
        try
        {
            await foreach (var item in _container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", prefix, ct).WithTransientErrors())
                files.Add(item.IsPrefix
                    ? new ArtifactFile(item.Prefix[prefix.Length..].TrimEnd('/'), IsDir: true, null)
                    : new ArtifactFile(item.Blob.Name[prefix.Length..], IsDir: false, item.Blob.Properties.ContentLength));
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            return []; // no container yet: nothing was ever uploaded
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }

    /// <summary>Deletes the file, or the directory and everything below it; a missing path is not an error.</summary>
    public async Task DeleteAsync(ArtifactLocation at, CancellationToken ct)
    {
        await RequireOwnerAsync(at, write: true, ct);
        if (at.Path.Length > 0)
            await StorageErrors.Call(() => _container.GetBlobClient(at.BlobName).DeleteIfExistsAsync(cancellationToken: ct));
        var below = new List<string>();
        try
        {
            await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, at.BlobName + "/", ct).WithTransientErrors())
                below.Add(blob.Name);
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            return;
        }
        await Parallel.ForEachAsync(below, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (name, token) =>
            await StorageErrors.Call(() => _container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: token)));
    }

    /// <summary>
    /// Starts a multipart upload: one signed Put Block URL per part, all for this one blob. The upload id carries
    /// the part count, so completing checks every part is there without Tracker keeping state.
    /// </summary>
    public async Task<MultipartUpload> CreateMultipartUploadAsync(ArtifactLocation at, long numParts, CancellationToken ct)
    {
        if (numParts is < 1 or > MaxParts)
            throw MlflowException.InvalidParameter($"num_parts must be between 1 and {MaxParts}, got {numParts}.");
        await RequireOwnerAsync(at, write: true, ct);
        await EnsureContainerAsync();
        var uploadId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + numParts.ToString("x8", CultureInfo.InvariantCulture);
        var lifetime = _options.UploadUrlLifetime + PerPartAllowance * numParts;
        var signed = await SignAsync(at, BlobSasPermissions.Write, lifetime < MaxMultipartLifetime ? lifetime : MaxMultipartLifetime, null, ct);
        return new MultipartUpload(uploadId, (int)numParts, signed.Url.AbsoluteUri);
    }

    /// <summary>Commits the parts, which must be exactly 1..num_parts in order, as the blob's content.</summary>
    public async Task CompleteMultipartUploadAsync(ArtifactLocation at, string? uploadId, IReadOnlyList<long> partNumbers, CancellationToken ct)
    {
        var numParts = PartCount(uploadId);
        if (partNumbers.Count != numParts || partNumbers.Where((n, i) => n != i + 1).Any())
            throw MlflowException.InvalidParameter($"parts must list part_number 1 to {numParts} in order, each once.");
        await RequireOwnerAsync(at, write: true, ct);
        var ids = Enumerable.Range(1, numParts).Select(part => BlockId(uploadId!, part)).ToList();
        var options = new CommitBlockListOptions { HttpHeaders = new BlobHttpHeaders { ContentType = ArtifactContentTypes.Guess(at.FileName) } };
        try
        {
            await StorageErrors.Call(() => _container.GetBlockBlobClient(at.BlobName).CommitBlockListAsync(ids, options, ct));
        }
        catch (RequestFailedException e) when (e.ErrorCode == InvalidBlockList)
        {
            // Not retryable (a 5xx would be retried for minutes in vain): a commit of any other upload of this file
            // discards this one's uncommitted parts, so then the whole file must be uploaded again.
            throw MlflowException.InvalidParameter(
                $"Upload {uploadId} is missing parts: upload every part before completing it. Uploaded parts are also " +
                "discarded when another upload of the same file completes first; then upload the file again.");
        }
    }

    /// <summary>
    /// Nothing to undo: parts that were never committed are not part of any blob, and Azure drops them after a week.
    /// Still checked, so a bad request gets the same answer as from complete.
    /// </summary>
    public async Task AbortMultipartUploadAsync(ArtifactLocation at, string? uploadId, CancellationToken ct)
    {
        PartCount(uploadId);
        await RequireOwnerAsync(at, write: true, ct);
    }

    /// <summary>A URL to PUT one file straight into Blob Storage (create and write on that blob only).</summary>
    public async Task<SignedUrl> UploadUrlAsync(ArtifactLocation at, CancellationToken ct)
    {
        await RequireOwnerAsync(at, write: true, ct);
        await EnsureContainerAsync();
        var signed = await SignAsync(at, BlobSasPermissions.Create | BlobSasPermissions.Write, _options.UploadUrlLifetime, null, ct);
        return signed with { Method = "PUT", Headers = new Dictionary<string, string> { ["x-ms-blob-type"] = "BlockBlob" } };
    }

    /// <summary>A URL to GET one existing file straight from Blob Storage (read on that blob only).</summary>
    public async Task<SignedUrl> DownloadUrlAsync(ArtifactLocation at, CancellationToken ct)
    {
        await RequireOwnerAsync(at, write: false, ct);
        await ReadIfExistsAsync(at, () => _container.GetBlobClient(at.BlobName).GetPropertiesAsync(cancellationToken: ct));
        return await SignDownloadAsync(at, ct);
    }

    private Task<SignedUrl> SignDownloadAsync(ArtifactLocation at, CancellationToken ct) =>
        SignAsync(at, BlobSasPermissions.Read, _options.DownloadUrlLifetime, sas =>
        {
            // Blob Storage serves it as a download, never as a page a browser renders (security baseline §1.7).
            sas.ContentDisposition = ContentDisposition(at.FileName);
            sas.ContentType = ArtifactContentTypes.Binary;
        }, ct);

    public static string ContentDisposition(string fileName) =>
        new System.Net.Mime.ContentDisposition { DispositionType = "attachment", FileName = fileName }.ToString();

    private async Task<SignedUrl> SignAsync(ArtifactLocation at, BlobSasPermissions permissions, TimeSpan lifetime, Action<BlobSasBuilder>? overrides, CancellationToken ct)
    {
        var blob = _container.GetBlobClient(at.BlobName);
        var sas = SasFor(blob, permissions, lifetime);
        overrides?.Invoke(sas);
        var url = await _signer.SignAsync(blob, sas, ct);
        return new SignedUrl(url, "GET", new Dictionary<string, string>(), sas.ExpiresOn);
    }

    private BlobSasBuilder SasFor(BlobClient blob, BlobSasPermissions permissions, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        var expires = DateTimeOffset.FromUnixTimeSeconds((now + lifetime).ToUnixTimeSeconds()); // SAS expiry has whole seconds
        return new BlobSasBuilder(permissions, expires)
        {
            BlobContainerName = _container.Name,
            BlobName = blob.Name,
            Resource = "b",
            StartsOn = now - ClockSkew,
            // Azure is HTTPS only; Azurite speaks plain HTTP on loopback.
            Protocol = blob.Uri.Scheme == Uri.UriSchemeHttps ? SasProtocol.Https : SasProtocol.HttpsAndHttp,
        };
    }

    internal static string BlockId(string uploadId, int part) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes($"{uploadId}{part:D5}"));

    private static int PartCount(string? uploadId)
    {
        if (uploadId is { Length: 32 } && uploadId.All(char.IsAsciiHexDigitLower)
            && int.TryParse(uploadId.AsSpan(24), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var parts) && parts is >= 1 and <= MaxParts)
            return parts;
        throw MlflowException.InvalidParameter($"Invalid upload_id '{Echo.Truncate(uploadId)}': use the upload_id that mpu/create returned.");
    }

    /// <summary>
    /// Unknown runs and runs of deleted experiments do not exist; a deleted run is read-only. A logged model's files
    /// exist while the model does (a deleted model's are gone, as its get answers 404), in an active experiment.
    /// </summary>
    private async Task RequireOwnerAsync(ArtifactLocation at, bool write, CancellationToken ct)
    {
        var experimentTask = _tracking.GetExperimentAsync(at.ExperimentId, ct); // both reads in flight at once
        if (at.ModelId is { } modelId)
        {
            var modelTask = _tracking.GetLoggedModelAsync(modelId, ct);
            if (await experimentTask is not { LifecycleStage: LifecycleStage.Active } || await modelTask is null)
                throw LoggedModelIds.NotFound(modelId);
            return;
        }
        var runId = at.RunId!;
        var runTask = _tracking.GetRunAsync(runId, ct);
        var experiment = await experimentTask;
        if (experiment is null) throw ArtifactLocation.RunNotFound(runId);
        if (experiment.LifecycleStage != LifecycleStage.Active)
            throw MlflowException.NotFound($"Experiment with id={at.ExperimentId} is deleted; its runs' artifacts are not available.");
        var run = await runTask;
        if (write && run.Info.LifecycleStage != LifecycleStage.Active)
            throw MlflowException.InvalidParameter($"The run {runId} must be in the 'active' state. Current state is {run.Info.LifecycleStage}.");
    }

    private static async Task<T> ReadIfExistsAsync<T>(ArtifactLocation at, Func<Task<T>> read)
    {
        try
        {
            return await StorageErrors.Call(read);
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            throw MlflowException.NotFound($"No artifact '{at.Path}' in {at.OwnerDescription}.");
        }
    }

    /// <summary>Creates the container once per instance, on the first write (Bicep creates it in Azure; Azurite starts empty).</summary>
    private Task EnsureContainerAsync() => _containerReady.RunAsync();
}
