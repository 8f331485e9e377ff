using System.Text.Json.Nodes;
using Tracker.Core.Auth;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// A logged model is checked as its experiment (MLflow's auth app: read / update / delete of the experiment): a user
/// without READ on it gets 403 from every route that names the model, its artifacts included, and a search leaves it out.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LoggedModelPermissionTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Artifacts = "/api/2.0/mlflow-artifacts/artifacts";
    private readonly AuthedApp _app = new(azurite);
    private string _alice = "", _bob = "", _experiment = "", _model = "", _run = "";

    public async Task InitializeAsync()
    {
        _alice = await _app.UserAsync("alice");
        _bob = await _app.UserAsync("bob");
        _experiment = await _app.CreateExperimentAsync(_alice, "alice-" + Guid.NewGuid().ToString("N"));
        _run = await _app.CreateRunAsync(_alice, _experiment);
        _model = (string)(await _app.PostAsync(_alice, "logged-models", new JsonObject { ["experiment_id"] = _experiment, ["name"] = "m", ["source_run_id"] = _run }))["model"]!["info"]!["model_id"]!;
        using var upload = await _app.SendAsync(HttpMethod.Put, $"{Artifacts}/{_experiment}/models/{_model}/artifacts/MLmodel", _alice);
        Assert.True(upload.IsSuccessStatusCode, $"upload: {(int)upload.StatusCode}");
        await _app.Store.CreateExperimentPermissionAsync(_experiment, "bob", Permission.NoPermissions);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private (HttpMethod, string, JsonObject?)[] Reads =>
    [
        (HttpMethod.Get, $"logged-models/{_model}", null),
        (HttpMethod.Get, $"logged-models/{_model}/artifacts/directories", null),
        (HttpMethod.Get, $"{Artifacts}/{_experiment}/models/{_model}/artifacts/MLmodel", null),
        (HttpMethod.Get, $"{Artifacts}?path={_experiment}/models/{_model}/artifacts", null),
    ];

    private (HttpMethod, string, JsonObject?)[] Writes =>
    [
        (HttpMethod.Post, "logged-models", new JsonObject { ["experiment_id"] = _experiment, ["name"] = "bobs" }),
        (HttpMethod.Patch, $"logged-models/{_model}", new JsonObject { ["model_id"] = _model, ["status"] = LoggedModelStatus.Ready }),
        (HttpMethod.Patch, $"logged-models/{_model}/tags", new JsonObject { ["tags"] = new JsonArray(new JsonObject { ["key"] = "k", ["value"] = "bob's" }) }),
        (HttpMethod.Post, $"logged-models/{_model}/params", new JsonObject { ["params"] = new JsonArray(new JsonObject { ["key"] = "k", ["value"] = "bob's" }) }),
        (HttpMethod.Delete, $"logged-models/{_model}/tags/mlflow.user", null),
        (HttpMethod.Delete, $"logged-models/{_model}", null),
        (HttpMethod.Put, $"{Artifacts}/{_experiment}/models/{_model}/artifacts/evil.pkl", null),
        (HttpMethod.Delete, $"{Artifacts}/{_experiment}/models/{_model}/artifacts/MLmodel", null),
    ];

    private async Task<List<string>> NotRefused(string user, IEnumerable<(HttpMethod Method, string Route, JsonObject? Body)> attempts)
    {
        var failures = new List<string>();
        foreach (var (method, route, body) in attempts)
        {
            var (status, text, _) = await _app.StatusAsync(method, route.StartsWith('/') ? route : AuthedApp.Api + route, user, body);
            if (status != 403) failures.Add($"{method} {route}: {status} {text}");
        }
        return failures;
    }

    private async Task<string> StateAsync() =>
        (await _app.GetAsync(_alice, $"logged-models/{_model}")).ToJsonString() +
        (await _app.GetAsync(_alice, $"{Artifacts}?path={_experiment}/models/{_model}/artifacts")).ToJsonString();

    [Fact]
    public async Task WithoutReadEveryRouteOfTheModelIsRefusedAndNothingChanges()
    {
        var before = await StateAsync();
        var failures = await NotRefused(_bob, Reads.Concat(Writes));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task WithReadOnlyTheModelReadsButTakesNoWrites()
    {
        await _app.Store.UpdateExperimentPermissionAsync(_experiment, "bob", Permission.Read);
        foreach (var (method, route, _) in Reads)
        {
            var (status, text, _) = await _app.StatusAsync(method, route.StartsWith('/') ? route : AuthedApp.Api + route, _bob);
            Assert.True(status == 200, $"{method} {route}: {status} {text}");
        }
        var before = await StateAsync();
        var failures = await NotRefused(_bob, Writes);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task ASearchLeavesOutModelsOfExperimentsTheCallerCannotRead()
    {
        var own = await _app.CreateExperimentAsync(_bob, "bob-" + Guid.NewGuid().ToString("N"));
        await _app.PostAsync(_bob, "logged-models", new JsonObject { ["experiment_id"] = own, ["name"] = "bobs" });
        var answer = await _app.PostAsync(_bob, "logged-models/search", new JsonObject { ["experiment_ids"] = new JsonArray(_experiment, own) });
        Assert.Equal(["bobs"], answer["models"]!.AsArray().Select(m => (string)m!["info"]!["name"]!));
        var none = await _app.PostAsync(_bob, "logged-models/search", new JsonObject { ["experiment_ids"] = new JsonArray(_experiment) });
        Assert.Null(none["models"]);
        var alices = await _app.PostAsync(_alice, "logged-models/search", new JsonObject { ["experiment_ids"] = new JsonArray(_experiment) });
        Assert.Equal(["m"], alices["models"]!.AsArray().Select(m => (string)m!["info"]!["name"]!));
    }

    /// <summary>A run Bob may edit cannot write metrics onto Alice's model: a model takes metrics of its own experiment's runs only.</summary>
    [Fact]
    public async Task MetricsCannotReachAModelOfAnotherExperiment()
    {
        var own = await _app.CreateExperimentAsync(_bob, "bob-" + Guid.NewGuid().ToString("N"));
        var run = await _app.CreateRunAsync(_bob, own);
        var before = await StateAsync();
        var (status, text, _) = await _app.StatusAsync(HttpMethod.Post, AuthedApp.Api + "runs/log-batch", _bob, new JsonObject
        {
            ["run_id"] = run,
            ["metrics"] = new JsonArray(new JsonObject { ["key"] = "acc", ["value"] = 1.0, ["timestamp"] = 1, ["step"] = 0, ["model_id"] = _model }),
        });
        Assert.True(status == 400, $"{status} {text}");
        Assert.Equal(before, await StateAsync());
    }
}
