using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>The registry store over real Azurite: MLflow's semantics and messages, and its behaviour across instances.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RegistryStoreTests(AzuriteFixture azurite)
{
    private readonly string _prefix = "g" + Guid.NewGuid().ToString("N")[..12];
    private RegistryStore? _store;
    private RegistryStore Store => _store ??= NewInstance();

    /// <summary>Another Tracker instance over the same tables: nothing shared but storage.</summary>
    private RegistryStore NewInstance()
    {
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(new StorageRequestCounter(), Azure.Core.HttpPipelinePosition.PerRetry);
        var tables = new TableServiceClient(azurite.ConnectionString, clientOptions);
        var storage = Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString, TablePrefix = _prefix });
        var keys = new ServerKeys(tables, storage, Options.Create(new AuthOptions()));
        return new RegistryStore(tables, storage, keys, NullLogger<RegistryStore>.Instance);
    }

    private static NewModelVersion Version(string name, string source = "runs:/r1/model", string? description = null) =>
        new(name, source, "mlflow-artifacts:/1/r1/artifacts/model", "r1", [new KeyValue("k", "v")], null, description, null, "alice");

    private static async Task<MlflowException> Fails(Func<Task> call) => await Assert.ThrowsAsync<MlflowException>(call);

    [Fact]
    public async Task ARegisteredModelIsCreatedOnceAndFoundByItsName()
    {
        var created = await Store.CreateRegisteredModelAsync("m", [new KeyValue("a", "1"), new KeyValue("a", "2")], "desc", "job-1");
        Assert.Equal("m", created.Name);
        Assert.Equal(created.CreationTimestamp, created.LastUpdatedTimestamp);
        Assert.Equal([new KeyValue("a", "2")], created.Tags); // the last value of a key wins
        Assert.Empty(created.LatestVersions);
        Assert.Equal(created, await Store.GetRegisteredModelAsync("m"), RegisteredModelComparer);

        var duplicate = await Fails(() => Store.CreateRegisteredModelAsync("m", [], null, null));
        Assert.Equal(ErrorCode.ResourceAlreadyExists, duplicate.Code);
        Assert.Equal("Registered Model (name=m) already exists.", duplicate.Message);

        var missing = await Fails(() => Store.GetRegisteredModelAsync("nope"));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, missing.Code);
        Assert.Equal("Registered Model with name=nope not found", missing.Message);
    }

    [Fact]
    public async Task NamesThatDisplayAlikeCannotBeTwoModels()
    {
        await Store.CreateRegisteredModelAsync("foo", [], null, null);
        await Store.CreateRegisteredModelAsync("José", [], null, null); // precomposed
        foreach (var lookalike in new[] { "foo ", " foo", "fo\u200bo", "Jose\u0301" })
        {
            Assert.Equal(ErrorCode.InvalidParameterValue, (await Fails(() => Store.CreateRegisteredModelAsync(lookalike, [], null, null))).Code);
            Assert.Equal(ErrorCode.InvalidParameterValue, (await Fails(() => Store.RenameRegisteredModelAsync("foo", lookalike))).Code);
            Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetRegisteredModelAsync(lookalike))).Code);
        }
        var page = await Store.SearchRegisteredModelsAsync(null, 100, [], null);
        Assert.Equal(["José", "foo"], page.Items.Select(m => m.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task UpdateWritesTheDescriptionEvenWhenAbsentAndTagsLeaveTheTimestampAlone()
    {
        var created = await Store.CreateRegisteredModelAsync("m", [], "old", null);
        await Task.Delay(5); // timestamps are milliseconds: let the clock move so a change is visible
        var updated = await Store.UpdateRegisteredModelAsync("m", "new", "job-2");
        Assert.Equal("new", updated.Description);
        Assert.Equal("job-2", updated.DeploymentJobId);
        Assert.True(updated.LastUpdatedTimestamp > created.LastUpdatedTimestamp);
        var cleared = await Store.UpdateRegisteredModelAsync("m", null, null);
        Assert.Equal("", cleared.Description);
        Assert.Equal("job-2", cleared.DeploymentJobId);

        await Task.Delay(5);
        await Store.SetRegisteredModelTagAsync("m", "t", "1");
        await Store.SetRegisteredModelTagAsync("m", "t", "2");
        await Store.DeleteRegisteredModelTagAsync("m", "absent"); // silent
        var tagged = await Store.GetRegisteredModelAsync("m");
        Assert.Equal([new KeyValue("t", "2")], tagged.Tags);
        Assert.Equal(cleared.LastUpdatedTimestamp, tagged.LastUpdatedTimestamp);
        await Store.DeleteRegisteredModelTagAsync("m", "t");
        Assert.Empty((await Store.GetRegisteredModelAsync("m")).Tags);

        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.UpdateRegisteredModelAsync("nope", "x", null))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.SetRegisteredModelTagAsync("nope", "t", "1"))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.DeleteRegisteredModelTagAsync("nope", "t"))).Code);
    }

    [Fact]
    public async Task VersionsAreNumberedFromOneAndNeverReused()
    {
        await Store.CreateRegisteredModelAsync("m", [], null, null);
        var v1 = await Store.CreateModelVersionAsync(Version("m", description: "first"));
        var v2 = await Store.CreateModelVersionAsync(Version("m"));
        Assert.Equal((1, 2), (v1.Version, v2.Version));
        Assert.Equal(ModelStages.None, v1.CurrentStage);
        Assert.Equal(ModelVersionStatus.Ready, v1.Status);
        Assert.Equal(("first", "runs:/r1/model", "r1", "alice"), (v1.Description, v1.Source, v1.RunId, v1.UserId));
        Assert.Equal([new KeyValue("k", "v")], v1.Tags);
        Assert.Equal(v1, await Store.GetModelVersionAsync("m", 1), ModelVersionComparer);

        await Store.SetRegisteredModelAliasAsync("m", "champion", 2);
        await Store.DeleteModelVersionAsync("m", 2);
        var gone = await Fails(() => Store.GetModelVersionAsync("m", 2));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, gone.Code);
        Assert.Equal("Model Version (name=m, version=2) not found", gone.Message);
        Assert.Empty((await Store.GetRegisteredModelAsync("m")).Aliases); // the alias went with its version
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Fails(() => Store.GetModelVersionByAliasAsync("m", "champion"))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.DeleteModelVersionAsync("m", 2))).Code);

        Assert.Equal(3, (await Store.CreateModelVersionAsync(Version("m"))).Version); // 2 is never issued again
        var missingModel = await Fails(() => Store.CreateModelVersionAsync(Version("nope")));
        Assert.Equal("Registered Model with name=nope not found", missingModel.Message);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetModelVersionAsync("nope", 1))).Code);
    }

    [Fact]
    public async Task VersionUpdatesTagsAndDownloadUri()
    {
        await Store.CreateRegisteredModelAsync("m", [], null, null);
        var created = await Store.CreateModelVersionAsync(Version("m", description: "d"));
        Assert.Equal("d", (await Store.UpdateModelVersionAsync("m", 1, null)).Description); // absent: unchanged
        await Task.Delay(5);
        var updated = await Store.UpdateModelVersionAsync("m", 1, "e");
        Assert.Equal("e", updated.Description);
        Assert.True(updated.LastUpdatedTimestamp > created.LastUpdatedTimestamp);

        await Store.SetModelVersionTagAsync("m", 1, "k", "w");
        await Store.SetModelVersionTagAsync("m", 1, "x", "y");
        await Store.DeleteModelVersionTagAsync("m", 1, "absent"); // silent
        await Store.DeleteModelVersionTagAsync("m", 1, "x");
        var tagged = await Store.GetModelVersionAsync("m", 1);
        Assert.Equal([new KeyValue("k", "w")], tagged.Tags);
        Assert.Equal(updated.LastUpdatedTimestamp, tagged.LastUpdatedTimestamp);
        // The model row carries the latest version's document: it saw the tag change too.
        Assert.Equal([new KeyValue("k", "w")], (await Store.GetRegisteredModelAsync("m")).LatestVersions.Single().Tags);

        Assert.Equal("mlflow-artifacts:/1/r1/artifacts/model", await Store.GetModelVersionDownloadUriAsync("m", 1));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.SetModelVersionTagAsync("m", 9, "k", "v"))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.DeleteModelVersionTagAsync("m", 9, "k"))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetModelVersionDownloadUriAsync("m", 9))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.UpdateModelVersionAsync("m", 9, "x"))).Code);
    }

    [Fact]
    public async Task TransitionsArchiveExistingVersionsAndLatestVersionsFollow()
    {
        await Store.CreateRegisteredModelAsync("m", [], null, null);
        for (var i = 0; i < 4; i++) await Store.CreateModelVersionAsync(Version("m"));
        await Store.TransitionModelVersionStageAsync("m", 1, "production", false);
        await Store.TransitionModelVersionStageAsync("m", 2, "Production", false);
        await Store.TransitionModelVersionStageAsync("m", 3, "staging", false);

        var latest = await Store.GetLatestVersionsAsync("m", []);
        // MLflow's order (SqlRegisteredModel.to_mlflow_entity; the recorded registry traffic): each stage where its lowest live version is.
        Assert.Equal([(2L, "Production"), (3L, "Staging"), (4L, "None")], latest.Select(v => (v.Version, v.CurrentStage)));
        Assert.Equal([2L], (await Store.GetLatestVersionsAsync("m", ["PRODUCTION"])).Select(v => v.Version));
        Assert.Equal([2L, 3L], (await Store.GetLatestVersionsAsync("m", ["staging", "production"])).Select(v => v.Version));
        Assert.Empty(await Store.GetLatestVersionsAsync("m", ["Archived"]));
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Fails(() => Store.GetLatestVersionsAsync("m", ["Live"]))).Code);

        var before = await Store.GetRegisteredModelAsync("m");
        await Task.Delay(5);
        var moved = await Store.TransitionModelVersionStageAsync("m", 4, "Production", archiveExistingVersions: true);
        Assert.Equal(ModelStages.Production, moved.CurrentStage);
        Assert.Equal(ModelStages.Archived, (await Store.GetModelVersionAsync("m", 1)).CurrentStage);
        Assert.Equal(ModelStages.Archived, (await Store.GetModelVersionAsync("m", 2)).CurrentStage);
        Assert.Equal(ModelStages.Staging, (await Store.GetModelVersionAsync("m", 3)).CurrentStage);
        var after = await Store.GetRegisteredModelAsync("m");
        Assert.True(after.LastUpdatedTimestamp > before.LastUpdatedTimestamp);
        Assert.Equal([(2L, "Archived"), (3L, "Staging"), (4L, "Production")], after.LatestVersions.Select(v => (v.Version, v.CurrentStage)));

        // Deleting the latest Production version makes no other one latest there: none is left in that stage.
        await Store.DeleteModelVersionAsync("m", 4);
        Assert.Equal([2L, 3L], (await Store.GetRegisteredModelAsync("m")).LatestVersions.Select(v => v.Version));
        // Moving version 2 out of Archived makes the older version 1 the latest there, read from its own row.
        await Store.TransitionModelVersionStageAsync("m", 2, "None", false);
        Assert.Equal([(1L, "Archived"), (2L, "None"), (3L, "Staging")],
            (await Store.GetLatestVersionsAsync("m", [])).Select(v => (v.Version, v.CurrentStage)));

        var notActive = await Fails(() => Store.TransitionModelVersionStageAsync("m", 1, "Archived", archiveExistingVersions: true));
        Assert.Equal(ErrorCode.InvalidParameterValue, notActive.Code);
        Assert.Equal(
            "Model version transition cannot archive existing model versions because 'Archived' is not an Active stage. Valid stages are ['Staging', 'Production']",
            notActive.Message);
        var badStage = await Fails(() => Store.TransitionModelVersionStageAsync("m", 1, "Live", false));
        Assert.Equal("Invalid Model Version stage: Live. Value must be one of None, Staging, Production, Archived.", badStage.Message);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.TransitionModelVersionStageAsync("m", 4, "Staging", false))).Code);
    }

    [Fact]
    public async Task AliasesPointAtLiveVersionsAndMove()
    {
        await Store.CreateRegisteredModelAsync("m", [], null, null);
        await Store.CreateModelVersionAsync(Version("m"));
        await Store.CreateModelVersionAsync(Version("m"));
        await Store.SetRegisteredModelAliasAsync("m", "champion", 1);
        Assert.Equal(1, (await Store.GetModelVersionByAliasAsync("m", "champion")).Version);
        Assert.Equal(["champion"], (await Store.GetModelVersionAsync("m", 1)).Aliases);
        await Store.SetRegisteredModelAliasAsync("m", "champion", 2); // moves
        var v2 = await Store.GetModelVersionByAliasAsync("m", "champion");
        Assert.Equal(2, v2.Version);
        Assert.Equal(["champion"], v2.Aliases);
        Assert.Empty((await Store.GetModelVersionAsync("m", 1)).Aliases);
        Assert.Equal([new RegisteredModelAlias("champion", "2")], (await Store.GetRegisteredModelAsync("m")).Aliases);

        var missingVersion = await Fails(() => Store.SetRegisteredModelAliasAsync("m", "x", 7));
        Assert.Equal("Model Version (name=m, version=7) not found", missingVersion.Message);
        var unknown = await Fails(() => Store.GetModelVersionByAliasAsync("m", "nobody"));
        Assert.Equal(ErrorCode.InvalidParameterValue, unknown.Code);
        Assert.Equal("Registered model alias nobody not found.", unknown.Message);
        Assert.Equal(2, (await Store.GetModelVersionByAliasAsync("m", "Latest")).Version);

        await Store.DeleteRegisteredModelAliasAsync("m", "absent"); // silent
        await Store.DeleteRegisteredModelAliasAsync("m", "champion");
        Assert.Empty((await Store.GetRegisteredModelAsync("m")).Aliases);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.DeleteRegisteredModelAliasAsync("nope", "a"))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetModelVersionByAliasAsync("nope", "a"))).Code);
    }

    [Fact]
    public async Task RenameCarriesVersionsTagsAndAliases()
    {
        await Store.CreateRegisteredModelAsync("old", [new KeyValue("t", "1")], "d", null);
        await Store.CreateModelVersionAsync(Version("old"));
        await Store.CreateModelVersionAsync(Version("old"));
        await Store.TransitionModelVersionStageAsync("old", 1, "Production", false);
        await Store.SetRegisteredModelAliasAsync("old", "champion", 1);
        await Store.CreateRegisteredModelAsync("taken", [], null, null);

        var exists = await Fails(() => Store.RenameRegisteredModelAsync("old", "taken"));
        Assert.Equal(ErrorCode.ResourceAlreadyExists, exists.Code);
        Assert.Equal("Registered Model (name=taken) already exists.", exists.Message);
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Fails(() => Store.RenameRegisteredModelAsync("old", ""))).Code);

        var renamed = await Store.RenameRegisteredModelAsync("old", "new");
        Assert.Equal("new", renamed.Name);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetRegisteredModelAsync("old"))).Code);
        var model = await Store.GetRegisteredModelAsync("new");
        Assert.Equal([new KeyValue("t", "1")], model.Tags);
        Assert.Equal([new RegisteredModelAlias("champion", "1")], model.Aliases);
        Assert.All(model.LatestVersions, v => Assert.Equal("new", v.Name));
        // MLflow's rename writes every version's last_updated_timestamp too (the recorded rename shows it).
        Assert.All(model.LatestVersions, v => Assert.Equal(renamed.LastUpdatedTimestamp, v.LastUpdatedTimestamp));
        Assert.Equal(renamed.LastUpdatedTimestamp, (await Store.GetModelVersionAsync("new", 2)).LastUpdatedTimestamp);
        var v1 = await Store.GetModelVersionByAliasAsync("new", "champion");
        Assert.Equal(("new", 1L, "Production"), (v1.Name, v1.Version, v1.CurrentStage));
        Assert.Equal(3, (await Store.CreateModelVersionAsync(Version("new"))).Version);
        var versions = await Store.SearchModelVersionsAsync(null, 100, [], null);
        Assert.Equal([("new", 1L), ("new", 2L), ("new", 3L)], versions.Items.Select(v => (v.Name, v.Version)).Order());
    }

    [Fact]
    public async Task DeleteCascadesAndANewModelOfTheSameNameStartsAfresh()
    {
        await Store.CreateRegisteredModelAsync("m", [new KeyValue("t", "1")], null, null);
        await Store.CreateModelVersionAsync(Version("m"));
        await Store.CreateModelVersionAsync(Version("m"));
        await Store.SetRegisteredModelAliasAsync("m", "a", 2);
        await Store.DeleteRegisteredModelAsync("m");
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetRegisteredModelAsync("m"))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.GetModelVersionAsync("m", 1))).Code);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Fails(() => Store.DeleteRegisteredModelAsync("m"))).Code);
        Assert.Empty((await Store.SearchModelVersionsAsync(null, 100, [], null)).Items);

        var again = await Store.CreateRegisteredModelAsync("m", [], null, null);
        Assert.Empty(again.Tags);
        Assert.Empty(again.Aliases);
        Assert.Equal(1, (await Store.CreateModelVersionAsync(Version("m"))).Version);
        Assert.Single((await Store.SearchModelVersionsAsync(null, 100, [], null)).Items);
    }

    [Fact]
    public async Task SixteenConcurrentCreatesThroughTwoInstancesGetVersionsOneToSixteen()
    {
        var a = NewInstance();
        var b = NewInstance();
        await a.CreateRegisteredModelAsync("m", [], null, null);
        var created = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? a : b).CreateModelVersionAsync(Version("m"))));
        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), created.Select(v => v.Version).Order());
        var stored = await b.SearchModelVersionsAsync(null, 100, [], null);
        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), stored.Items.Select(v => v.Version).Order());
        Assert.Equal(16, (await a.GetLatestVersionsAsync("m", ["None"])).Single().Version);
    }

    [Fact]
    public async Task AWriteOnOneInstanceIsVisibleToTheNextSearchOnAnother()
    {
        var a = NewInstance();
        var b = NewInstance();
        await a.CreateRegisteredModelAsync("m1", [], null, null);
        Assert.Equal(["m1"], (await b.SearchRegisteredModelsAsync(null, 100, [], null)).Items.Select(m => m.Name)); // b's snapshot is warm

        await a.CreateRegisteredModelAsync("m2", [], null, null);
        await a.CreateModelVersionAsync(Version("m2"));
        Assert.Equal(["m1", "m2"], (await b.SearchRegisteredModelsAsync(null, 100, [], null)).Items.Select(m => m.Name));
        Assert.Equal([("m2", 1L)], (await b.SearchModelVersionsAsync(null, 100, [], null)).Items.Select(v => (v.Name, v.Version)));

        await a.RenameRegisteredModelAsync("m2", "m3");
        await a.SetModelVersionTagAsync("m3", 1, "k", "changed");
        await a.DeleteRegisteredModelAsync("m1");
        Assert.Equal(["m3"], (await b.SearchRegisteredModelsAsync(null, 100, [], null)).Items.Select(m => m.Name));
        var version = (await b.SearchModelVersionsAsync(null, 100, [], null)).Items.Single();
        Assert.Equal(("m3", "changed"), (version.Name, version.Tags.Single().Value));
    }

    [Fact]
    public async Task PruningChangeRowsNeverHidesAChangeFromAnInstanceThatHadNotReadThem()
    {
        var a = NewInstance();
        var b = NewInstance();
        await a.CreateRegisteredModelAsync("m1", [], null, null);
        Assert.Equal(["m1"], (await b.SearchRegisteredModelsAsync(null, 100, [], null)).Items.Select(m => m.Name)); // b is warm

        await a.CreateRegisteredModelAsync("m2", [], null, null);
        await a.SetRegisteredModelTagAsync("m1", "k", "v");
        await a.CreateRegisteredModelAsync("m3", [], null, null);
        // Everything but the newest change row goes; b never read m2's or the tag's.
        Assert.Equal(3, await a.PruneChangesAsync(TimeSpan.Zero, 1000));
        Assert.Equal(0, await a.PruneChangesAsync(TimeSpan.Zero, 1000));

        var models = (await b.SearchRegisteredModelsAsync(null, 100, [], null)).Items;
        Assert.Equal(["m1", "m2", "m3"], models.Select(m => m.Name));
        Assert.Equal("v", models[0].Tags.Single().Value);
        // And the feed goes on from there.
        await a.DeleteRegisteredModelAsync("m2");
        Assert.Equal(["m1", "m3"], (await b.SearchRegisteredModelsAsync(null, 100, [], null)).Items.Select(m => m.Name));
        Assert.Equal(0, await a.PruneChangesAsync(TimeSpan.FromHours(1), 1000)); // nothing that old
    }

    [Fact]
    public async Task GettingARegisteredModelIsOneStorageRequest()
    {
        await Store.CreateRegisteredModelAsync("m", [new KeyValue("t", "1")], null, null);
        for (var i = 0; i < 3; i++) await Store.CreateModelVersionAsync(Version("m"));
        await Store.TransitionModelVersionStageAsync("m", 1, "Production", false);
        await Store.SetRegisteredModelAliasAsync("m", "champion", 1);

        var counter = StorageRequestCounter.Begin();
        var model = await Store.GetRegisteredModelAsync("m");
        Assert.Equal(1, counter.Count);
        Assert.Equal([(1L, "Production"), (3L, "None")], model.LatestVersions.Select(v => (v.Version, v.CurrentStage)));
        Assert.Equal(["champion"], model.LatestVersions[0].Aliases);

        counter = StorageRequestCounter.Begin();
        await Store.GetLatestVersionsAsync("m", ["Production"]);
        Assert.Equal(1, counter.Count);
    }

    [Fact]
    public async Task SearchesPageWithSignedTokensAndCheckMaxResults()
    {
        for (var i = 0; i < 5; i++) await Store.CreateRegisteredModelAsync($"m{i}", [], null, null);
        await Store.CreateRegisteredModelAsync("prompt", [new KeyValue(RegisteredModel.PromptTag, "true")], null, null);
        await Store.CreateModelVersionAsync(Version("prompt"));
        await Store.CreateModelVersionAsync(Version("m0"));

        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Store.SearchRegisteredModelsAsync(null, 2, [], token);
            names.AddRange(page.Items.Select(m => m.Name));
            token = page.NextPageToken;
            pages++;
        } while (token is not null);
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], names); // the prompt is left out
        Assert.Equal(3, pages);

        var first = await Store.SearchRegisteredModelsAsync(null, 2, [], null);
        var otherQuery = await Fails(() => Store.SearchRegisteredModelsAsync("name = 'm1'", 2, [], first.NextPageToken));
        Assert.Equal(ErrorCode.InvalidParameterValue, otherQuery.Code);

        Assert.Equal(["m1", "m3"], (await Store.SearchRegisteredModelsAsync(null, 10, [], null, n => n is "m1" or "m3")).Items.Select(m => m.Name));
        Assert.Equal([("m0", 1L)], (await Store.SearchModelVersionsAsync(null, 10, [], null)).Items.Select(v => (v.Name, v.Version)));

        Assert.Equal("Invalid value for request parameter max_results. It must be at most 1000, but got value 1001",
            (await Fails(() => Store.SearchRegisteredModelsAsync(null, 1001, [], null))).Message);
        Assert.Equal("Invalid value for request parameter max_results. It must be at most 200000, but got value 200001",
            (await Fails(() => Store.SearchModelVersionsAsync(null, 200001, [], null))).Message);
        Assert.Equal("Invalid value for max_results. It must be a positive integer, but got 0",
            (await Fails(() => Store.SearchModelVersionsAsync(null, 0, [], null))).Message);
    }

    private static readonly IEqualityComparer<RegisteredModel> RegisteredModelComparer = EqualityComparer<RegisteredModel>.Create(
        (x, y) => x!.Name == y!.Name && x.CreationTimestamp == y.CreationTimestamp && x.LastUpdatedTimestamp == y.LastUpdatedTimestamp &&
                  x.Description == y.Description && x.DeploymentJobId == y.DeploymentJobId && x.Tags.SequenceEqual(y.Tags) &&
                  x.Aliases.SequenceEqual(y.Aliases) && x.LatestVersions.Select(v => v.Version).SequenceEqual(y.LatestVersions.Select(v => v.Version)));

    private static readonly IEqualityComparer<ModelVersion> ModelVersionComparer = EqualityComparer<ModelVersion>.Create(
        (x, y) => x! with { Tags = [], Aliases = [] } == y! with { Tags = [], Aliases = [] } && x.Tags.SequenceEqual(y.Tags) && x.Aliases.SequenceEqual(y.Aliases));
}
