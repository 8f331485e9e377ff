using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using Tracker.Core.Artifacts;
using Tracker.Core.Storage;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The artifact container as the lifecycle workers walk it: the blobs under one prefix, a bounded share at a time,
/// resumable from the listing's own continuation marker (name-ordered, so blobs deleted meanwhile do not disturb it).
/// A marker only resumes a listing of the same prefix, so a forged one cannot reach outside it.
/// </summary>
public sealed class LifecycleBlobs(BlobServiceClient blobs, IOptions<StorageOptions> storage)
{
    /// <summary>Blob Storage's largest listing page.</summary>
    private const int MaxPage = 5000;
    /// <summary>Blob requests of one invocation in flight at once.</summary>
    private const int Parallelism = 16;

    public BlobContainerClient Container { get; } = blobs.GetBlobContainerClient(storage.Value.ArtifactsContainer);

    /// <summary>
    /// Lists at most <paramref name="budget"/> blobs whose names start with <paramref name="prefix"/>, from
    /// <paramref name="marker"/> on, and runs <paramref name="act"/> on each (concurrently). Returns how many it listed
    /// and the marker to go on from, or null when the listing is complete.
    /// </summary>
    public async Task<(int Listed, string? Next)> WalkAsync(
        string prefix, string? marker, int budget, Func<BlobClient, CancellationToken, Task> act, CancellationToken ct)
    {
        var listed = 0;
        try
        {
            while (listed < budget)
            {
                Page<BlobItem>? page = null;
                await foreach (var first in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, ct)
                                   .AsPages(string.IsNullOrEmpty(marker) ? null : marker, Math.Min(budget - listed, MaxPage)))
                {
                    page = first;
                    break;
                }
                if (page is null) return (listed, null);
                await Parallel.ForEachAsync(page.Values, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
                    async (item, token) => await act(Container.GetBlobClient(item.Name), token));
                listed += page.Values.Count;
                marker = page.ContinuationToken;
                if (string.IsNullOrEmpty(marker)) return (listed, null);
            }
            return (listed, marker);
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound && e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            return (listed, null); // nothing was ever uploaded
        }
    }

    /// <summary>Whether any blob's name starts with <paramref name="prefix"/>: one listing of one entry.</summary>
    public async Task<bool> AnyAsync(string prefix, CancellationToken ct)
    {
        try
        {
            await foreach (var page in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, ct).AsPages(null, 1))
                return page.Values.Count > 0;
            return false;
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound && e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            return false;
        }
    }

    /// <summary>The blob name (a file) or prefix (a directory, without the trailing slash) an artifact URI names, or
    /// null for one that names no files of this server.</summary>
    public static string? BlobPrefixOf(string? uri)
    {
        if (string.IsNullOrEmpty(uri)) return null;
        try
        {
            return ArtifactLocation.FromUri(uri, allowRoot: true).BlobName;
        }
        catch (MlflowException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="name"/> is the file <paramref name="prefix"/> names or lies in that directory.</summary>
    public static bool Within(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) && (name.Length == prefix.Length || name[prefix.Length] == '/');

    /// <summary>Whether two artifact locations share files: one is the other, or lies inside it.</summary>
    public static bool Overlap(string a, string b) => Within(a, b) || Within(b, a);
}
