using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Tracker.Core.Storage;

namespace Tracker.Core.Artifacts;

/// <summary>
/// Signs with a user delegation key of the service client's identity (the managed identity in Azure, where the account
/// keeps shared keys off). One key signs any number of SAS, so it is fetched once and reused until it no longer covers
/// the expiry asked for; concurrent callers that need a new key share one fetch, and a failed fetch leaves nothing
/// behind, so the next caller simply tries again.
/// </summary>
public sealed class UserDelegationSasSigner(BlobServiceClient service, TimeProvider time) : IBlobSasSigner
{
    /// <summary>How long a fetched key is valid. Far below the 7-day maximum; renewal comes from <see cref="Margin"/>.</summary>
    internal static readonly TimeSpan KeyLifetime = TimeSpan.FromHours(12);

    /// <summary>
    /// Keys start this far in the past, so a storage clock slightly behind ours still accepts them, and never after
    /// the start of a SAS they sign (<see cref="ArtifactStore"/> back-dates those by the same 15 minutes).
    /// </summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(15);

    /// <summary>A key must outlive every SAS it signs by this much; closer than that, a fresh key is fetched first.</summary>
    internal static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _fetch = new(1, 1);
    private volatile UserDelegationKey? _key;

    public async ValueTask<Uri> SignAsync(BlobClient blob, BlobSasBuilder sas, CancellationToken ct)
    {
        var key = await KeyCoveringAsync(sas.ExpiresOn, ct);
        return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key, service.AccountName) }.ToUri();
    }

    private async ValueTask<UserDelegationKey> KeyCoveringAsync(DateTimeOffset expiresOn, CancellationToken ct)
    {
        if (_key is { } cached && Covers(cached, expiresOn)) return cached;

        // A fresh key covers now + KeyLifetime; a SAS outliving that would make every call fetch again.
        var now = time.GetUtcNow();
        if (expiresOn + Margin > now + KeyLifetime)
            throw new ArgumentOutOfRangeException(
                nameof(expiresOn), expiresOn, $"A user delegation SAS must expire within {KeyLifetime - Margin} from now.");

        await _fetch.WaitAsync(ct);
        try
        {
            // Another caller may have fetched while this one waited.
            if (_key is { } fetched && Covers(fetched, expiresOn)) return fetched;
            now = time.GetUtcNow();
            return _key = await FetchAsync(now - ClockSkew, now + KeyLifetime, ct);
        }
        finally
        {
            _fetch.Release();
        }
    }

    private static bool Covers(UserDelegationKey key, DateTimeOffset expiresOn) => key.SignedExpiresOn >= expiresOn + Margin;

    private async Task<UserDelegationKey> FetchAsync(DateTimeOffset startsOn, DateTimeOffset expiresOn, CancellationToken ct)
    {
        try
        {
            return (await service.GetUserDelegationKeyAsync(startsOn, expiresOn, ct)).Value;
        }
        catch (Exception e) when (StorageErrors.IsTransient(e))
        {
            throw StorageErrors.Transient(e);
        }
        catch (RequestFailedException e) when (e.Status == 403)
        {
            throw new MlflowException(
                ErrorCode.InternalError,
                $"The storage account refused a user delegation key ({e.Status} {e.ErrorCode}): the app's identity needs " +
                "'Storage Blob Delegator' (or 'Storage Blob Data Contributor') on the storage account to sign artifact URLs.");
        }
    }
}
