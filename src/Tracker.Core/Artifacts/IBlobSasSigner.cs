using Azure.Storage.Blobs;
using Azure.Storage.Sas;

namespace Tracker.Core.Artifacts;

/// <summary>
/// Signs a SAS that <see cref="ArtifactStore"/> has already scoped (one blob, its permissions, its expiry). Azure signs
/// with a user delegation key of the app's managed identity; Azurite with the account key.
/// </summary>
public interface IBlobSasSigner
{
    ValueTask<Uri> SignAsync(BlobClient blob, BlobSasBuilder sas, CancellationToken ct);
}

/// <summary>Account-key signing, for Azurite (a connection string with a key). Azure accounts keep shared keys off.</summary>
public sealed class AccountKeySasSigner : IBlobSasSigner
{
    public ValueTask<Uri> SignAsync(BlobClient blob, BlobSasBuilder sas, CancellationToken ct) =>
        blob.CanGenerateSasUri
            ? ValueTask.FromResult(blob.GenerateSasUri(sas))
            : throw new InvalidOperationException("The blob client holds no account key to sign with.");
}
