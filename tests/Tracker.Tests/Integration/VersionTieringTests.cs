using Azure.Storage.Blobs.Models;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The version_stage_changed worker against Azurite: an archived version past ArchivedCoolAfterDays (0 here) has its
/// files set to Cool and tagged for the lifecycle-management backstop, then the version tagged; promoted again, the
/// files go back to Hot and both tags go. Azurite answers Set Blob Tier and Set Blob Tags; the requests the worker sent
/// are also recorded, so the test checks what was asked of the service and not only what Azurite stored.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class VersionTieringTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private LifecycleHarness _h = null!;
    private string _experimentId = "";

    private async Task UseAsync(int coolAfterDays = 0, int maxBlobs = 5000)
    {
        _h = new LifecycleHarness(azurite, new LifecycleOptions { ArchivedCoolAfterDays = coolAfterDays, MaxBlobsPerMessage = maxBlobs });
        _experimentId = await _h.Tracking.CreateExperimentAsync("tiering-" + Guid.NewGuid().ToString("N"), []);
    }

    public Task InitializeAsync() => UseAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A registered model with one version from a run with <paramref name="files"/> files under model/ (and one
    /// file outside it).</summary>
    private async Task<(string Name, string RunId)> VersionAsync(int files = 3, string? name = null, string path = "model")
    {
        var run = (await _h.Tracking.CreateRunAsync(_experimentId, "u", null, 1, [])).Info.RunId;
        for (var i = 0; i < files; i++) await _h.UploadAsync($"{_experimentId}/{run}/artifacts/model/f{i:D3}");
        await _h.UploadAsync($"{_experimentId}/{run}/artifacts/other.txt");
        if (name is null)
        {
            name = "tier-" + Guid.NewGuid().ToString("N")[..8];
            await _h.Registry.CreateRegisteredModelAsync(name, [], null, null);
        }
        var source = $"runs:/{run}/{path}";
        await _h.Registry.CreateModelVersionAsync(new NewModelVersion(name, source, source, run, [], null, null, null, "u"));
        return (name, run);
    }

    private async Task<Dictionary<string, (AccessTier? Tier, IDictionary<string, string> Tags)>> StateAsync(string prefix)
    {
        var state = new Dictionary<string, (AccessTier?, IDictionary<string, string>)>();
        foreach (var name in await _h.BlobsAsync(prefix))
        {
            var blob = _h.Container.GetBlobClient(name);
            var properties = (await blob.GetPropertiesAsync()).Value;
            state[name] = (properties.AccessTier is { } t ? new AccessTier(t) : null, (await blob.GetTagsAsync()).Value.Tags);
        }
        return state;
    }

    private async Task<string?> TierTagAsync(string name, long version) =>
        (await _h.Registry.GetModelVersionAsync(name, version)).Tags.FirstOrDefault(t => t.Key == LifecycleMessage.StorageTierTag)?.Value;

    private async Task TransitionAsync(string name, long version, string stage)
    {
        var transition = await _h.Registry.TransitionStageAsync(name, version, stage, false);
        await _h.Queue.StagesChangedAsync(name, transition.StageChanged, default);
    }

    [Fact]
    public async Task AnArchivedVersionGoesCoolAndTaggedAndBackToHotWhenPromotedAgain()
    {
        var (name, run) = await VersionAsync();
        _h.BlobRequests.Clear();

        await TransitionAsync(name, 1, ModelStages.Archived);
        await _h.DrainAsync();

        var model = await StateAsync($"{_experimentId}/{run}/artifacts/model/");
        Assert.Equal(3, model.Count);
        Assert.All(model.Values, s => Assert.Equal(AccessTier.Cool, s.Tier));
        Assert.All(model.Values, s => Assert.Equal("true", s.Tags[VersionTiering.ArchivedBlobTag]));
        Assert.Equal(VersionTiering.Cool, await TierTagAsync(name, 1));
        // What was asked of the service: Set Blob Tier (x-ms-access-tier: Cool) and Set Blob Tags for each file, only those.
        var tierCalls = _h.BlobRequests.Where(r => r.Query.Contains("comp=tier")).ToList();
        Assert.Equal(model.Keys.Order(), tierCalls.Select(r => r.Blob).Order());
        Assert.All(tierCalls, r => Assert.Equal("Cool", r.Headers["x-ms-access-tier"]));
        Assert.Equal(model.Keys.Order(), _h.BlobRequests.Where(r => r.Query.Contains("comp=tags")).Select(r => r.Blob).Order());
        // The file outside the version's source is not its.
        var other = (await StateAsync($"{_experimentId}/{run}/artifacts/other.txt")).Single().Value;
        Assert.NotEqual(AccessTier.Cool, other.Tier);
        Assert.Empty(other.Tags);

        await TransitionAsync(name, 1, ModelStages.Production);
        await _h.DrainAsync();

        model = await StateAsync($"{_experimentId}/{run}/artifacts/model/");
        Assert.All(model.Values, s => Assert.Equal(AccessTier.Hot, s.Tier));
        Assert.All(model.Values, s => Assert.Empty(s.Tags));
        Assert.Null(await TierTagAsync(name, 1));
    }

    [Fact]
    public async Task AVersionArchivedByAnotherVersionsPromotionIsTieredToo()
    {
        var (name, run) = await VersionAsync();
        await VersionAsync(name: name);
        await TransitionAsync(name, 1, ModelStages.Production);
        await _h.DrainAsync();

        var transition = await _h.Registry.TransitionStageAsync(name, 2, ModelStages.Production, archiveExistingVersions: true);
        Assert.Equal([2L, 1L], transition.StageChanged);
        await _h.Queue.StagesChangedAsync(name, transition.StageChanged, default);
        await _h.DrainAsync();

        Assert.All((await StateAsync($"{_experimentId}/{run}/artifacts/model/")).Values, s => Assert.Equal(AccessTier.Cool, s.Tier));
        Assert.Equal(VersionTiering.Cool, await TierTagAsync(name, 1));
        Assert.Null(await TierTagAsync(name, 2));
    }

    [Fact]
    public async Task AVersionNotYetDueStaysHotAndIsLookedAtAgainLater()
    {
        await UseAsync(coolAfterDays: 30);
        var (name, run) = await VersionAsync();

        await TransitionAsync(name, 1, ModelStages.Archived);
        Assert.Single(await _h.DrainAsync());

        Assert.Equal(1, await _h.QueuedAsync()); // delayed, invisible
        Assert.All((await StateAsync($"{_experimentId}/{run}/artifacts/model/")).Values, s => Assert.NotEqual(AccessTier.Cool, s.Tier));
        Assert.Null(await TierTagAsync(name, 1));
    }

    [Fact]
    public async Task FilesALiveVersionSharesStayHot()
    {
        var (name, run) = await VersionAsync();
        // A second model registers the same files, and stays in Production.
        var other = "tier-" + Guid.NewGuid().ToString("N")[..8];
        await _h.Registry.CreateRegisteredModelAsync(other, [], null, null);
        var source = $"runs:/{run}/model";
        await _h.Registry.CreateModelVersionAsync(new NewModelVersion(other, source, source, run, [], null, null, null, "u"));
        await _h.Registry.TransitionModelVersionStageAsync(other, 1, ModelStages.Production, false);
        _h.BlobRequests.Clear();

        await TransitionAsync(name, 1, ModelStages.Archived);
        await _h.DrainAsync();

        Assert.DoesNotContain(_h.BlobRequests, r => r.Query.Contains("comp=tier"));
        Assert.Null(await TierTagAsync(name, 1));
    }

    [Fact]
    public async Task ManyFilesAreTieredInBoundedStepsEachOnce()
    {
        await UseAsync(maxBlobs: 4);
        var (name, run) = await VersionAsync(files: 13);
        _h.BlobRequests.Clear();

        await TransitionAsync(name, 1, ModelStages.Archived);
        var messages = await _h.DrainAsync();

        Assert.True(messages.Count >= 4, $"{messages.Count} messages");
        var tiered = _h.BlobRequests.Where(r => r.Query.Contains("comp=tier")).GroupBy(r => r.Blob).ToList();
        Assert.Equal(13, tiered.Count);
        Assert.All(tiered, t => Assert.Single(t));
        Assert.All((await StateAsync($"{_experimentId}/{run}/artifacts/model/")).Values, s => Assert.Equal(AccessTier.Cool, s.Tier));
        Assert.Equal(VersionTiering.Cool, await TierTagAsync(name, 1));
    }

    [Fact]
    public async Task MessagesForAVersionThatIsNotArchivedOrIsGoneChangeNothing()
    {
        var (name, _) = await VersionAsync();
        _h.BlobRequests.Clear();

        await _h.HandleAsync($$"""{"kind":"version_stage_changed","name":"{{name}}","version":1}""");
        await _h.HandleAsync($$"""{"kind":"version_stage_changed","name":"{{name}}","version":9}""");
        await _h.HandleAsync("""{"kind":"version_stage_changed","name":"no-such-model","version":1}""");
        await _h.HandleAsync("""{"kind":"version_stage_changed"}""");

        Assert.Empty(_h.BlobRequests);
        Assert.Null(await TierTagAsync(name, 1));
        Assert.Equal(0, await _h.QueuedAsync());
    }
}
