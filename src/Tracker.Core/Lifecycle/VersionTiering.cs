using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Registry;
using Tracker.Core.Storage;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The <c>version_stage_changed</c> worker (issue 10 §3): a version <c>Archived</c> for
/// <see cref="LifecycleOptions.ArchivedCoolAfterDays"/> (counted from its <c>last_updated_timestamp</c>, which the
/// transition set) has the files under its storage location moved to the Cool tier and tagged with the blob index tag
/// <see cref="ArchivedBlobTag"/> (what the storage account's lifecycle-management rule, the backstop, matches), then the
/// version tag <see cref="LifecycleMessage.StorageTierTag"/> = <c>Cool</c> — last, so a crash before it is retried. A
/// version promoted again (any stage but Archived) that carries that tag gets its files back to Hot, the blob tag
/// removed, then the version tag removed.
///
/// It reconciles from the current state, so duplicates, reordering and forged messages change nothing that should not
/// change. Files another live version that is not archived shares (one location inside the other) stay Hot. Bounded by
/// <see cref="LifecycleOptions.MaxBlobsPerMessage"/> blobs per invocation, the rest in a follow-up message.
/// </summary>
public sealed partial class VersionTiering(
    RegistryStore registry, LifecycleBlobs blobs, LifecycleQueue queue, IOptions<LifecycleOptions> options, TimeProvider time,
    ILogger<VersionTiering> logger)
{
    /// <summary>The blob index tag on archived, cooled files (matched by the lifecycle-management rule in storage.bicep).</summary>
    public const string ArchivedBlobTag = "tracker-archived";
    public const string Cool = "Cool";

    public async Task HandleAsync(LifecycleMessage message, CancellationToken ct)
    {
        if (message is not { Name: { } name, Version: { } number }) return;
        ModelVersion version;
        try
        {
            version = await registry.GetModelVersionAsync(name, number, ct);
        }
        catch (MlflowException e) when (e.Code == ErrorCode.ResourceDoesNotExist)
        {
            return; // deleted: nothing of it to tier
        }
        var prefix = LifecycleBlobs.BlobPrefixOf(string.IsNullOrEmpty(version.StorageLocation) ? version.Source : version.StorageLocation);
        if (prefix is null) return;
        var cooled = version.Tags.Any(t => t.Key == LifecycleMessage.StorageTierTag && t.Value == Cool);
        var archived = version.CurrentStage == ModelStages.Archived;
        if (archived == cooled && message.Continuation is null) return; // already as it should be

        var follow = new LifecycleMessage { Kind = LifecycleMessage.VersionStageChanged, Name = version.Name, Version = number };
        if (archived)
        {
            var now = time.GetUtcNow();
            if (!options.Value.CoolDue(version.LastUpdatedTimestamp, now))
            {
                var due = DateTimeOffset.FromUnixTimeMilliseconds(version.LastUpdatedTimestamp) + TimeSpan.FromDays(options.Value.ArchivedCoolAfterDays) - now;
                await queue.EnqueueAsync(follow, due, ct);
                return;
            }
            if (await SharedWithLiveVersionAsync(version, prefix, ct))
            {
                LogShared(logger, version.Name, number);
                return;
            }
        }

        var tier = archived ? AccessTier.Cool : AccessTier.Hot;
        var tags = archived ? new Dictionary<string, string> { [ArchivedBlobTag] = "true" } : new Dictionary<string, string>();
        var (_, next) = await blobs.WalkAsync(prefix, message.Continuation, options.Value.MaxBlobsPerMessage, async (blob, token) =>
        {
            if (!LifecycleBlobs.Within(blob.Name, prefix)) return; // a sibling sharing the name's start (model.pkl vs model.pkl2)
            await SetTierAsync(blob, tier, tags, token);
        }, ct);
        if (next is not null)
        {
            await queue.EnqueueAsync(follow with { Continuation = next }, default, ct);
            return;
        }

        // The version tag last, and only if the stage is still the one the files were moved for; otherwise reconcile again.
        var current = await registry.GetModelVersionAsync(name, number, ct);
        if ((current.CurrentStage == ModelStages.Archived) != archived)
        {
            await queue.EnqueueAsync(follow, default, ct);
            return;
        }
        if (archived) await registry.SetModelVersionTagAsync(version.Name, number, LifecycleMessage.StorageTierTag, Cool, ct);
        else await registry.DeleteModelVersionTagAsync(version.Name, number, LifecycleMessage.StorageTierTag, ct);
        LogTiered(logger, version.Name, number, tier.ToString());
    }

    private static async Task SetTierAsync(BlobClient blob, AccessTier tier, Dictionary<string, string> tags, CancellationToken ct)
    {
        try
        {
            // The index tag first: on the way to Cool, a file whose tier change then fails is still cooled by the
            // storage account's lifecycle rule (the backstop); on the way back, no rule cools it again meanwhile.
            await StorageErrors.Call(() => blob.SetTagsAsync(tags, cancellationToken: ct));
            await StorageErrors.Call(() => blob.SetAccessTierAsync(tier, cancellationToken: ct));
        }
        catch (Azure.RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
            // Deleted since it was listed: nothing to tier.
        }
    }

    /// <summary>Whether a live version that is not archived has files in common with this one.</summary>
    private async Task<bool> SharedWithLiveVersionAsync(ModelVersion version, string prefix, CancellationToken ct)
    {
        foreach (var other in await registry.ListLiveVersionsAsync(ct))
        {
            if (other.CurrentStage == ModelStages.Archived || (other.Name == version.Name && other.Version == version.Version)) continue;
            var otherPrefix = LifecycleBlobs.BlobPrefixOf(string.IsNullOrEmpty(other.StorageLocation) ? other.Source : other.StorageLocation);
            if (otherPrefix is not null && LifecycleBlobs.Overlap(prefix, otherPrefix)) return true;
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Name} version {Version}: files moved to the {Tier} tier")]
    private static partial void LogTiered(ILogger logger, string name, long version, string tier);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Name} version {Version} is archived, but a live version shares its files: they stay Hot")]
    private static partial void LogShared(ILogger logger, string name, long version);
}
