using System.Text;
using System.Text.Json.Nodes;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// The auth cases of the security baseline §4 (numbered 9–12 there; issue 8 calls them 17–24): one user's experiments
/// are out of another's reach through every route and search (10), ids given twice are never authorised under one
/// spelling and executed under another (11), and there are no default credentials (12). Case 9 is
/// <see cref="RouteAccessTests"/>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SecurityBaselineAuthTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Artifacts = "/api/2.0/mlflow-artifacts/artifacts";
    private readonly AuthedApp _app = new(azurite);
    private string _alice = "", _bob = "", _admin = "";
    // Alice's experiments (she created them, so she manages them) and Bob's, created interleaved; one run in each.
    private readonly List<string> _aliceExperiments = [], _bobExperiments = [];
    private readonly Dictionary<string, string> _runs = [];
    private string X => _bobExperiments[0];
    private string RunX => _runs[X];
    private string RunA => _runs[_aliceExperiments[0]];

    public async Task InitializeAsync()
    {
        _alice = await _app.UserAsync("alice");
        _bob = await _app.UserAsync("bob");
        _admin = await _app.UserAsync("root", admin: true);
        for (var i = 0; i < 3; i++)
        {
            _aliceExperiments.Add(await _app.CreateExperimentAsync(_alice, $"alice-{i}-{Guid.NewGuid():N}"));
            if (i < 2) _bobExperiments.Add(await _app.CreateExperimentAsync(_bob, $"bob-{i}-{Guid.NewGuid():N}"));
        }
        foreach (var (user, experiment) in _aliceExperiments.Select(e => (_alice, e)).Concat(_bobExperiments.Select(e => (_bob, e))))
            _runs[experiment] = await _app.CreateRunAsync(user, experiment);
        // Explicitly nothing, not just the default.
        await _app.Store.CreateExperimentPermissionAsync(X, "alice", Permission.NoPermissions);
        await _app.PostAsync(_bob, "runs/log-batch", new JsonObject
        {
            ["run_id"] = RunX,
            ["metrics"] = new JsonArray(new JsonObject { ["key"] = "m", ["value"] = 1.0, ["timestamp"] = 1, ["step"] = 0 }),
            ["tags"] = new JsonArray(new JsonObject { ["key"] = "t", ["value"] = "bob's" }),
        });
        using var upload = await _app.SendAsync(HttpMethod.Put, $"{Artifacts}/{X}/{RunX}/artifacts/model.txt", _bob);
        Assert.True(upload.IsSuccessStatusCode, $"upload: {(int)upload.StatusCode}");
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Case 10, CrossTenant_IDOR: every read and write of X's objects is refused, and nothing of X changes.</summary>
    [Fact]
    public async Task CrossTenant_IDOR_EveryRouteOnAnotherUsersExperimentIsRefused()
    {
        var before = await StateOfXAsync();
        var file = $"{X}/{RunX}/artifacts/model.txt";
        (HttpMethod Method, string Route, JsonObject? Body)[] attempts =
        [
            (HttpMethod.Get, $"runs/get?run_id={RunX}", null),
            (HttpMethod.Get, $"metrics/get-history?run_id={RunX}&metric_key=m", null),
            (HttpMethod.Get, $"metrics/get-history-bulk-interval?run_ids={RunX}&metric_key=m", null),
            (HttpMethod.Get, $"/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id={RunX}&metric_key=m", null),
            (HttpMethod.Get, $"artifacts/list?run_id={RunX}", null),
            (HttpMethod.Get, $"{Artifacts}/{file}", null),
            (HttpMethod.Get, $"{Artifacts}?path={X}/{RunX}/artifacts", null),
            (HttpMethod.Get, $"experiments/get?experiment_id={X}", null),
            (HttpMethod.Post, "/api/2.0/tracker/artifacts/download-url", new JsonObject { ["run_id"] = RunX, ["path"] = "model.txt" }),
            (HttpMethod.Post, "/api/2.0/tracker/artifacts/download-url", new JsonObject { ["artifact_uri"] = $"mlflow-artifacts:/{file}" }),
            (HttpMethod.Post, "/api/2.0/tracker/artifacts/download-url", new JsonObject { ["artifact_uri"] = $"runs:/{RunX}/model.txt" }),
            (HttpMethod.Post, "/api/2.0/tracker/artifacts/upload-url", new JsonObject { ["run_id"] = RunX, ["path"] = "evil.txt" }),
            (HttpMethod.Post, $"/api/2.0/mlflow-artifacts/mpu/create/{X}/{RunX}/artifacts/evil.bin", new JsonObject { ["path"] = "evil.bin", ["num_parts"] = 1 }),
            // A list of ids is authorised as a whole: one of X's among Alice's own is enough to refuse.
            (HttpMethod.Get, $"metrics/get-history-bulk-interval?run_ids={RunA}&run_ids={RunX}&metric_key=m", null),
            (HttpMethod.Post, "/ajax-api/2.0/mlflow/experiments/search-datasets", new JsonObject { ["experiment_ids"] = new JsonArray(_aliceExperiments[0], X) }),
            (HttpMethod.Post, "runs/log-batch", new JsonObject { ["run_id"] = RunX, ["tags"] = new JsonArray(new JsonObject { ["key"] = "t", ["value"] = "alice's" }) }),
            (HttpMethod.Post, "runs/set-tag", new JsonObject { ["run_id"] = RunX, ["key"] = "t", ["value"] = "alice's" }),
            (HttpMethod.Post, "runs/delete", new JsonObject { ["run_id"] = RunX }),
            (HttpMethod.Post, "runs/create", new JsonObject { ["experiment_id"] = X }),
            (HttpMethod.Post, "experiments/update", new JsonObject { ["experiment_id"] = X, ["new_name"] = "alice's" }),
            (HttpMethod.Post, "experiments/delete", new JsonObject { ["experiment_id"] = X }),
            (HttpMethod.Put, $"{Artifacts}/{X}/{RunX}/artifacts/evil.txt", null),
            (HttpMethod.Delete, $"{Artifacts}/{file}", null),
        ];
        var failures = new List<string>();
        foreach (var (method, route, body) in attempts)
        {
            var (status, text, _) = await _app.StatusAsync(method, route.StartsWith('/') ? route : AuthedApp.Api + route, _alice, body);
            if (status != 403) failures.Add($"{method} {route}: {status} {text}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await StateOfXAsync());
    }

    /// <summary>X's experiment, run and artifact listing as an admin sees them.</summary>
    private async Task<string> StateOfXAsync() =>
        (await _app.GetAsync(_admin, $"experiments/get?experiment_id={X}"))["experiment"]!.ToJsonString() +
        (await _app.GetAsync(_admin, $"runs/get?run_id={RunX}")).ToJsonString() +
        (await _app.GetAsync(_admin, $"artifacts/list?run_id={RunX}")).ToJsonString();

    /// <summary>Case 10: searches silently leave out what the caller may not read, and paging neither leaks nor skips.</summary>
    [Fact]
    public async Task CrossTenant_IDOR_SearchesOmitUnreadableExperimentsOnEveryPage()
    {
        foreach (var pageSize in new[] { 1, 2, 1000 })
        {
            var experiments = await PageThroughAsync("experiments/search", new JsonObject(), "experiments", e => (string)e["experiment_id"]!, pageSize);
            Assert.Equal(_aliceExperiments.Order(), experiments.Order());
            var all = new JsonArray([.. _aliceExperiments.Concat(_bobExperiments).Select(e => JsonValue.Create(e))]);
            var runs = await PageThroughAsync("runs/search", new JsonObject { ["experiment_ids"] = all }, "runs", r => (string)r["info"]!["run_id"]!, pageSize);
            Assert.Equal(_aliceExperiments.Select(e => _runs[e]).Order(), runs.Order());
        }
        Assert.Empty(await PageThroughAsync("runs/search", new JsonObject { ["experiment_ids"] = new JsonArray(X) }, "runs", r => (string)r["info"]!["run_id"]!, 10));
    }

    private async Task<List<string>> PageThroughAsync(string route, JsonObject body, string items, Func<JsonNode, string> id, int pageSize)
    {
        var seen = new List<string>();
        string? token = null;
        for (var page = 0; page < 20; page++)
        {
            var request = body.DeepClone().AsObject();
            request["max_results"] = pageSize;
            if (token is not null) request["page_token"] = token;
            var answer = await _app.PostAsync(_alice, route, request);
            seen.AddRange((answer[items]?.AsArray() ?? []).Select(i => id(i!)));
            token = (string?)answer["next_page_token"];
            if (string.IsNullOrEmpty(token)) return seen;
        }
        throw new InvalidOperationException($"{route} did not finish paging in 20 pages of {pageSize}");
    }

    /// <summary>
    /// Case 11, ParamPollution: an id given twice (both spellings, run_id against run_uuid, a repeated JSON or query key)
    /// is refused, as ambiguous (400) or denied (403), in either order; it is never authorised as the allowed one and
    /// acted on as the other, so neither X nor Alice's run changes.
    /// </summary>
    [Fact]
    public async Task ParamPollution_IdsGivenTwiceAreRefusedAndChangeNothing()
    {
        var before = await StateOfXAsync();
        var beforeA = (await _app.GetAsync(_admin, $"runs/get?run_id={RunA}")).ToJsonString();
        var failures = new List<string>();
        foreach (var (what, method, route, json) in PollutedRequests())
        {
            var (status, text, _) = await SendPollutedAsync(method, route, json);
            if (status is not (400 or 403)) failures.Add($"{what}: {status} {text[..Math.Min(200, text.Length)]}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await StateOfXAsync());
        Assert.Equal(beforeA, (await _app.GetAsync(_admin, $"runs/get?run_id={RunA}")).ToJsonString());
    }

    private Task<(int Status, string Body, bool Challenged)> SendPollutedAsync(HttpMethod method, string route, string? json) =>
        _app.StatusAsync(method, route.StartsWith('/') ? route : AuthedApp.Api + route, _alice,
            configure: json is null ? null : r => r.Content = new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Each request names one of Alice's ids and one of X's, in both orders.</summary>
    private List<(string What, HttpMethod Method, string Route, string? Json)> PollutedRequests()
    {
        var cases = new List<(string, HttpMethod, string, string?)>();
        foreach (var (first, second) in new[] { (_aliceExperiments[0], X), (X, _aliceExperiments[0]) })
        {
            cases.Add(($"experiment_ids {first} + experimentIds {second}", HttpMethod.Post, "runs/search",
                $$"""{"experiment_ids":["{{first}}"],"experimentIds":["{{second}}"]}"""));
            cases.Add(($"search-datasets experiment_ids {first} + experimentIds {second}", HttpMethod.Post, "/ajax-api/2.0/mlflow/experiments/search-datasets",
                $$"""{"experiment_ids":["{{first}}"],"experimentIds":["{{second}}"]}"""));
            cases.Add(($"experiment_id repeated in the query {first}, {second}", HttpMethod.Get,
                $"experiments/get?experiment_id={first}&experiment_id={second}", null));
        }
        foreach (var (first, second) in new[] { (RunA, RunX), (RunX, RunA) })
        {
            var tag = $$""","key":"polluted","value":"yes"}""";
            cases.Add(($"run_id {first} + run_uuid {second}", HttpMethod.Post, "runs/set-tag",
                $$"""{"run_id":"{{first}}","run_uuid":"{{second}}"{{tag}}"""));
            cases.Add(($"run_id {first} + runId {second}", HttpMethod.Post, "runs/set-tag", $$"""{"run_id":"{{first}}","runId":"{{second}}"{{tag}}"""));
            cases.Add(($"run_id repeated in JSON {first}, {second}", HttpMethod.Post, "runs/set-tag",
                $$"""{"run_id":"{{first}}","run_id":"{{second}}"{{tag}}"""));
            cases.Add(($"run_id repeated in the query {first}, {second}", HttpMethod.Get, $"runs/get?run_id={first}&run_id={second}", null));
            cases.Add(($"run_id + run_uuid in the query {first}, {second}", HttpMethod.Get,
                $"artifacts/list?run_id={first}&run_uuid={second}", null));
        }
        return cases;
    }

    /// <summary>Case 12, UserMgmt: a fresh Tracker has no users at all, so no default credential signs in.</summary>
    [Fact]
    public async Task UserMgmt_NoDefaultCredentials()
    {
        await using var fresh = new AuthedApp(azurite);
        Assert.Empty(await fresh.Store.ListUsersAsync());
        await fresh.Store.CreateUserAsync("carol", "a-long-enough-password-1");
        await fresh.Store.CreateUserAsync("dave", password: null);
        var failures = new List<string>();
        foreach (var authorization in new[]
                 {
                     AuthedApp.Basic("admin", "password1234"), AuthedApp.Basic("admin", ""), AuthedApp.Basic("carol", ""),
                     AuthedApp.Basic("dave", ""), AuthedApp.Basic("", ""), "Basic ", "Bearer ",
                 })
        {
            var (status, text, challenged) = await fresh.StatusAsync(HttpMethod.Post, AuthedApp.Api + "experiments/search", authorization, new JsonObject());
            if (status != 401 || !challenged) failures.Add($"{authorization}: {status} {text}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.DoesNotContain(await fresh.Store.ListUsersAsync(), u => u.UserName == "admin");
    }
}
