using System.Text.Json.Nodes;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// The registry under MLflow's permission model (security baseline §2 and case 10): the creator manages a model, a
/// version is checked against its model, searches silently omit what the caller cannot read, and grants follow a
/// model through rename and end with its delete, as MLflow's auth app does after those requests.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RegistryPermissionTests(AzuriteFixture azurite) : IAsyncLifetime
{
    // Default NO_PERMISSIONS: only what is granted is reachable.
    private readonly AuthedApp _app = new(azurite);
    private string _alice = "", _bob = "";
    private string _bobRun = "", _aliceRun = "";
    private const string BobModel = "bob-model";
    private const string AliceModel = "alice-model";

    public async Task InitializeAsync()
    {
        _alice = await _app.UserAsync("alice");
        _bob = await _app.UserAsync("bob");
        _bobRun = await _app.CreateRunAsync(_bob, await _app.CreateExperimentAsync(_bob, "bob-exp-" + Guid.NewGuid().ToString("N")));
        _aliceRun = await _app.CreateRunAsync(_alice, await _app.CreateExperimentAsync(_alice, "alice-exp-" + Guid.NewGuid().ToString("N")));
        foreach (var (user, model, run) in new[] { (_bob, BobModel, _bobRun), (_alice, AliceModel, _aliceRun) })
        {
            await _app.PostAsync(user, "registered-models/create", new JsonObject { ["name"] = model });
            await _app.PostAsync(user, "model-versions/create", new JsonObject { ["name"] = model, ["source"] = $"runs:/{run}/model", ["run_id"] = run });
            await _app.PostAsync(user, "registered-models/alias", new JsonObject { ["name"] = model, ["alias"] = "champion", ["version"] = "1" });
        }
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task TheCreatorManagesTheModel()
    {
        Assert.Equal(Permission.Manage, (await _app.Store.GetRegisteredModelPermissionAsync(BobModel, "bob"))!.Permission);
        Assert.Null(await _app.Store.GetRegisteredModelPermissionAsync(BobModel, "alice"));
    }

    /// <summary>Case 10: every route on another user's model is refused to a user without READ, and nothing of it changes.</summary>
    [Fact]
    public async Task AnotherUsersModelIsOutOfReach()
    {
        var before = (await _app.GetAsync(_bob, $"registered-models/get?name={BobModel}")).ToJsonString();
        (HttpMethod Method, string Route, JsonObject? Body)[] attempts =
        [
            (HttpMethod.Get, $"registered-models/get?name={BobModel}", null),
            (HttpMethod.Post, "registered-models/get-latest-versions", new JsonObject { ["name"] = BobModel }),
            (HttpMethod.Get, $"registered-models/get-latest-versions?name={BobModel}", null),
            (HttpMethod.Get, $"registered-models/alias?name={BobModel}&alias=champion", null),
            (HttpMethod.Get, $"model-versions/get?name={BobModel}&version=1", null),
            (HttpMethod.Get, $"model-versions/get-download-uri?name={BobModel}&version=1", null),
            (HttpMethod.Post, "model-versions/create", new JsonObject { ["name"] = BobModel, ["source"] = $"runs:/{_aliceRun}/model" }),
            (HttpMethod.Post, "registered-models/alias", new JsonObject { ["name"] = BobModel, ["alias"] = "mine", ["version"] = "1" }),
            (HttpMethod.Delete, "registered-models/alias", new JsonObject { ["name"] = BobModel, ["alias"] = "champion" }),
            (HttpMethod.Post, "registered-models/set-tag", new JsonObject { ["name"] = BobModel, ["key"] = "k", ["value"] = "v" }),
            (HttpMethod.Post, "model-versions/transition-stage", new JsonObject { ["name"] = BobModel, ["version"] = "1", ["stage"] = "Production" }),
            (HttpMethod.Post, "registered-models/rename", new JsonObject { ["name"] = BobModel, ["new_name"] = "stolen" }),
            (HttpMethod.Delete, "model-versions/delete", new JsonObject { ["name"] = BobModel, ["version"] = "1" }),
            (HttpMethod.Delete, "registered-models/delete", new JsonObject { ["name"] = BobModel }),
        ];
        foreach (var (method, route, body) in attempts)
        {
            var path = AuthedApp.Api + route;
            var (status, text, _) = await _app.StatusAsync(method, path, _alice, body);
            Assert.True(status == 403, $"{method} {route}: {status} {text}");
            Assert.Equal(403, (await _app.StatusAsync(method, path.Replace(AuthedApp.Api, "/ajax-api/2.0/mlflow/"), _alice, body)).Status);
        }
        Assert.Equal(before, (await _app.GetAsync(_bob, $"registered-models/get?name={BobModel}")).ToJsonString());
    }

    [Fact]
    public async Task SearchesOmitWhatTheCallerCannotRead()
    {
        var models = (await _app.GetAsync(_alice, "registered-models/search?max_results=1000"))["registered_models"]!.AsArray().Select(m => (string)m!["name"]!);
        Assert.Equal([AliceModel], models);
        var versions = (await _app.GetAsync(_alice, "model-versions/search"))["model_versions"]!.AsArray().Select(v => (string)v!["name"]!);
        Assert.Equal([AliceModel], versions);

        await _app.Store.CreateRegisteredModelPermissionAsync(BobModel, "alice", Permission.Read);
        models = (await _app.GetAsync(_alice, "registered-models/search?max_results=1000"))["registered_models"]!.AsArray().Select(m => (string)m!["name"]!);
        Assert.Equal([AliceModel, BobModel], models);
        Assert.Equal($"runs:/{_bobRun}/model", (string)(await _app.GetAsync(_alice, $"model-versions/get-download-uri?name={BobModel}&version=1"))["artifact_uri"]!);
    }

    /// <summary>A version's source must be readable by whoever registers it: EDIT on one's own model is no way into another's run.</summary>
    [Fact]
    public async Task ASourceTheCallerCannotReadIsRefused()
    {
        var (status, text, _) = await _app.StatusAsync(HttpMethod.Post, AuthedApp.Api + "model-versions/create", _alice,
            new JsonObject { ["name"] = AliceModel, ["source"] = $"runs:/{_bobRun}/model" });
        Assert.True(status == 403, $"{status} {text}");
        (status, text, _) = await _app.StatusAsync(HttpMethod.Post, AuthedApp.Api + "model-versions/create", _alice,
            new JsonObject { ["name"] = AliceModel, ["source"] = $"models:/{BobModel}/1" });
        Assert.True(status == 403, $"{status} {text}");
        Assert.Single((await _app.GetAsync(_alice, "model-versions/search"))["model_versions"]!.AsArray());
    }

    [Fact]
    public async Task GrantsFollowARenameAndEndWithADelete()
    {
        const string name = "moving-model";
        await _app.PostAsync(_bob, "registered-models/create", new JsonObject { ["name"] = name });
        await _app.Store.CreateRegisteredModelPermissionAsync(name, "alice", Permission.Read);

        await _app.PostAsync(_bob, "registered-models/rename", new JsonObject { ["name"] = name, ["new_name"] = name + "-renamed" });
        Assert.Equal(Permission.Manage, (await _app.Store.GetRegisteredModelPermissionAsync(name + "-renamed", "bob"))!.Permission);
        Assert.Equal(Permission.Read, (await _app.Store.GetRegisteredModelPermissionAsync(name + "-renamed", "alice"))!.Permission);
        Assert.Null(await _app.Store.GetRegisteredModelPermissionAsync(name, "bob"));
        Assert.Equal(name + "-renamed", (string)(await _app.GetAsync(_alice, $"registered-models/get?name={name}-renamed"))["registered_model"]!["name"]!);

        // Whoever creates a model of the old name later starts with none of the old grants.
        await _app.PostAsync(_alice, "registered-models/create", new JsonObject { ["name"] = name });
        Assert.Equal(403, (await _app.StatusAsync(HttpMethod.Get, AuthedApp.Api + $"registered-models/get?name={name}", _bob)).Status);

        await _app.CallAsync(_bob, HttpMethod.Delete, "registered-models/delete", new JsonObject { ["name"] = name + "-renamed" });
        Assert.Null(await _app.Store.GetRegisteredModelPermissionAsync(name + "-renamed", "bob"));
        Assert.Null(await _app.Store.GetRegisteredModelPermissionAsync(name + "-renamed", "alice"));
    }
}
