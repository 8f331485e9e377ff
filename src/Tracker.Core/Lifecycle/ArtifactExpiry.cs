using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Artifacts;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The <c>expire_artifacts</c> worker (issue 10 §4): deletes a run's artifacts, and those of the logged models it
/// produced, that were last modified before the message's cutoff, except below the source of any registered model
/// version that is not archived (a registered model keeps its files whatever the experiment's retention says).
/// <para>
/// Nothing in the message is trusted: the directories are built from the run id (which names its experiment) and the
/// logged models the tracking store lists for that run, so a forged message reaches no further than one existing run's
/// own artifact roots. Each invocation looks at no more than <see cref="LifecycleOptions.MaxBlobsPerMessage"/> blobs
/// (rounded up to a listing page) and leaves the rest to a follow-up message carrying where it stopped; a delete is
/// conditional on the blob being unchanged since it was listed, so a file rewritten meanwhile stays. Running a message
/// twice deletes nothing more than once.
/// </para>
/// </summary>
public sealed partial class ArtifactExpiry(
    BlobServiceClient blobs, IOptions<StorageOptions> storage, TrackingStore tracking, RegistryStore registry, LifecycleQueue queue,
    IOptions<LifecycleOptions> options, ILogger<ArtifactExpiry> logger)
{
    private const int PageSize = 1000;
    private const int ListPageMax = 5000; // Azure's most blobs per List Blobs page
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(storage.Value.ArtifactsContainer);

    public async Task HandleAsync(LifecycleMessage message, CancellationToken ct)
    {
        if (message is not { RunId: { } runId, CutoffMs: { } cutoffMs } || RunIds.ExperimentOf(runId) is not { } experimentId ||
            message.ExperimentId is { } named && named != experimentId)
        {
            LogRefused(logger, "it does not name a run Tracker issued and a cutoff");
            return;
        }
        try
        {
            await tracking.GetRunAsync(runId, ct);
        }
        catch (MlflowException e) when (e.Code == ErrorCode.ResourceDoesNotExist)
        {
            return; // purged meanwhile, or never there: nothing to expire
        }

        var roots = await RootsAsync(runId, experimentId, ct);
        // Whatever its source spelling, a version's storage location is where its files are.
        var kept = await RegisteredFiles.ReadAsync(registry, ct, archivedToo: false);
        var cutoff = DateTimeOffset.FromUnixTimeMilliseconds(cutoffMs);
        var max = options.Value.MaxBlobsPerMessage;
        var (startOwner, marker) = ParseContinuation(message.Continuation, roots);
        var examined = 0;
        var deleted = 0;
        foreach (var (owner, root) in roots.SkipWhile(r => startOwner is not null && r.Owner != startOwner))
        {
            var pages = _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, root + "/", ct)
                .AsPages(owner == startOwner ? marker : null, Math.Min(max, ListPageMax));
            IAsyncEnumerator<Azure.Page<BlobItem>>? cursor = null;
            try
            {
                cursor = pages.GetAsyncEnumerator(ct);
                while (await NextPageAsync(cursor))
                {
                    var page = cursor.Current;
                    foreach (var blob in page.Values)
                    {
                        examined++;
                        if (blob.Properties.LastModified is { } modified && modified < cutoff && !kept.Covers(blob.Name) &&
                            await DeleteIfUnchangedAsync(blob, ct)) deleted++;
                    }
                    if (page.ContinuationToken is { Length: > 0 } next && examined >= max)
                    {
                        // Bounded: the rest goes on in a follow-up message from exactly here.
                        await queue.EnqueueAsync(message with { Continuation = $"{owner}:{next}", TraceParent = null }, default, ct);
                        LogProgress(logger, runId, deleted, examined);
                        return;
                    }
                }
            }
            finally
            {
                if (cursor is not null) await cursor.DisposeAsync();
            }
        }
        LogProgress(logger, runId, deleted, examined);
    }

    /// <summary>False at the end of the listing, and when the container does not exist yet (nothing was ever uploaded).</summary>
    private static async Task<bool> NextPageAsync(IAsyncEnumerator<Azure.Page<BlobItem>> cursor)
    {
        try
        {
            return await cursor.MoveNextAsync();
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            return false;
        }
    }

    /// <summary>The run's artifact directory, then its logged models' (by model id): built from ids, never from text in the message.</summary>
    private async Task<List<(string Owner, string Root)>> RootsAsync(string runId, string experimentId, CancellationToken ct)
    {
        var roots = new List<(string Owner, string Root)> { (runId, ArtifactLocation.ForRun(runId, "", allowRoot: true).Root) };
        var models = new List<string>();
        string? token = null;
        do
        {
            // runId is a run id Tracker issued (hex digits only), so quoting it in the filter is safe.
            var page = await tracking.SearchLoggedModelsAsync([experimentId], $"source_run_id = '{runId}'", [], [], PageSize, token, ct);
            models.AddRange(page.Items.Where(m => m.SourceRunId == runId).Select(m => m.ModelId));
            token = page.NextPageToken;
        } while (token is not null);
        foreach (var modelId in models.Order(StringComparer.Ordinal))
            roots.Add((modelId, ArtifactLocation.ForModel(modelId, "", allowRoot: true).Root));
        return roots;
    }

    /// <summary>Where a follow-up resumes: the owner (run or logged model id) whose directory it was listing and the
    /// listing's marker. One that names none of this run's directories starts over (a forged one reaches nothing more).</summary>
    private static (string? Owner, string? Marker) ParseContinuation(string? continuation, List<(string Owner, string Root)> roots)
    {
        var colon = continuation?.IndexOf(':') ?? -1;
        if (colon <= 0) return (null, null);
        var owner = continuation![..colon];
        return roots.Any(r => r.Owner == owner) ? (owner, continuation[(colon + 1)..]) : (null, null);
    }

    private async Task<bool> DeleteIfUnchangedAsync(BlobItem blob, CancellationToken ct)
    {
        try
        {
            var response = await StorageErrors.Call(() => _container.GetBlobClient(blob.Name).DeleteIfExistsAsync(
                DeleteSnapshotsOption.IncludeSnapshots, new BlobRequestConditions { IfMatch = blob.Properties.ETag }, ct));
            return response.Value;
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.PreconditionFailed)
        {
            return false; // written again since it was listed: it is new now
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "An expire_artifacts message was dropped: {Reason}.")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact expiry of run {RunId}: deleted {Deleted} of {Examined} blobs looked at.")]
    private static partial void LogProgress(ILogger logger, string runId, int deleted, int examined);
}
