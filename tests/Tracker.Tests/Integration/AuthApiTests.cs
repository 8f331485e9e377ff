using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// MLflow's user and permission API (mlflow/server/auth: users/…, experiments/permissions/…,
/// registered-models/permissions/…, with the verbs its AuthServiceClient uses) and Tracker's token routes, over HTTP
/// with auth on. Users and the first admin token are made straight in storage, as the admin command does.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuthApiTests(AzuriteFixture azurite)
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Tokens = "/api/2.0/tracker/tokens/";
    private const string Password = "correct horse battery";

    /// <summary>One Tracker with auth on, its tables reachable directly, and an admin with a token.</summary>
    private sealed class Env : IAsyncDisposable
    {
        public required TrackerApp App { get; init; }
        public required AuthInstance Auth { get; init; }
        public required AuthenticationHeaderValue Admin { get; init; }

        public async Task<AuthenticationHeaderValue> UserAsync(string name, bool isAdmin = false)
        {
            await Auth.Store.CreateUserAsync(name, null, isAdmin);
            return Bearer((await Auth.Store.CreateTokenAsync(name, "test")).Token);
        }

        public async ValueTask DisposeAsync()
        {
            Auth.Dispose();
            await App.DisposeAsync();
        }
    }

    private async Task<Env> StartAsync()
    {
        var app = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["Tracker:Auth:Disabled"] = "false" });
        var auth = new AuthInstance(azurite, app.TablePrefix, TimeProvider.System);
        await auth.Store.CreateUserAsync("admin", null, isAdmin: true);
        var token = (await auth.Store.CreateTokenAsync("admin", "test")).Token;
        return new Env { App = app, Auth = auth, Admin = Bearer(token) };
    }

    private static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(
        Env env, HttpMethod method, string path, AuthenticationHeaderValue? credential, object? body = null)
    {
        using var client = env.App.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = credential;
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await TrackerApp.ReadAsync(response), response);
    }

    private static async Task<(int Status, JsonNode? Body)> Call(Env env, HttpMethod method, string path, AuthenticationHeaderValue? credential, object? body = null)
    {
        var (status, json, response) = await SendAsync(env, method, path, credential, body);
        response.Dispose();
        return (status, json);
    }

    private static Task<(int Status, JsonNode? Body)> Get(Env env, string path, AuthenticationHeaderValue? credential) => Call(env, HttpMethod.Get, path, credential);
    private static Task<(int Status, JsonNode? Body)> Post(Env env, string path, AuthenticationHeaderValue? credential, object body) => Call(env, HttpMethod.Post, path, credential, body);
    private static Task<(int Status, JsonNode? Body)> Patch(Env env, string path, AuthenticationHeaderValue? credential, object body) => Call(env, HttpMethod.Patch, path, credential, body);
    private static Task<(int Status, JsonNode? Body)> Delete(Env env, string path, AuthenticationHeaderValue? credential, object? body) => Call(env, HttpMethod.Delete, path, credential, body);

    private static string? ErrorCode(JsonNode? body) => (string?)body?["error_code"];

    private static async Task<string> CreateExperimentAsync(Env env, AuthenticationHeaderValue owner)
    {
        var (status, body) = await Post(env, Api + "experiments/create", owner, new { name = "e-" + Guid.NewGuid().ToString("N") });
        Assert.Equal(200, status);
        return (string)body!["experiment_id"]!;
    }

    // ---- users ----

    [Fact]
    public async Task AnAdminCreatesAUserWhoThenSignsInAndGetsThemselves()
    {
        await using var env = await StartAsync();

        var (status, created) = await Post(env, Api + "users/create", env.Admin, new { username = "alice", password = Password });

        Assert.Equal(200, status);
        var user = created!["user"]!;
        Assert.Equal("alice", (string)user["username"]!);
        Assert.False((bool)user["is_admin"]!);
        Assert.Empty(user["experiment_permissions"]!.AsArray());
        Assert.Empty(user["registered_model_permissions"]!.AsArray());
        Assert.Null(user["password"]);
        Assert.Null(user["password_hash"]);
        var (selfStatus, self) = await Get(env, Api + "users/get?username=alice", Basic("alice", Password));
        Assert.Equal(200, selfStatus);
        Assert.Equal((long)user["id"]!, (long)self!["user"]!["id"]!);
        Assert.Equal("alice", (string)self["user"]!["username"]!);
        // The routes live under both of MLflow's roots, as the rest of the API.
        Assert.Equal(200, (await Get(env, "/ajax-api/2.0/mlflow/users/get?username=alice", env.Admin)).Status);
    }

    [Fact]
    public async Task UserCreationFollowsMlflowsRules()
    {
        await using var env = await StartAsync();
        Assert.Equal(200, (await Post(env, Api + "users/create", env.Admin, new { username = "alice", password = Password })).Status);

        var duplicate = await Post(env, Api + "users/create", env.Admin, new { username = "alice", password = Password });
        var weak = await Post(env, Api + "users/create", env.Admin, new { username = "bob", password = "short" });
        var empty = await Post(env, Api + "users/create", env.Admin, new { username = "bob", password = "" });
        var noName = await Post(env, Api + "users/create", env.Admin, new { password = Password });
        var missing = await Get(env, Api + "users/get?username=nobody", env.Admin);

        Assert.Equal((400, "RESOURCE_ALREADY_EXISTS"), (duplicate.Status, ErrorCode(duplicate.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (weak.Status, ErrorCode(weak.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (empty.Status, ErrorCode(empty.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (noName.Status, ErrorCode(noName.Body)));
        Assert.Equal((404, "RESOURCE_DOES_NOT_EXIST"), (missing.Status, ErrorCode(missing.Body)));
        Assert.Equal(404, (await Get(env, Api + "users/get?username=bob", env.Admin)).Status);
    }

    [Fact]
    public async Task AUserCannotSeeAnotherUser()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        await env.UserAsync("bob");

        var (status, body) = await Get(env, Api + "users/get?username=bob", alice);

        Assert.Equal((403, "PERMISSION_DENIED"), (status, ErrorCode(body)));
        Assert.Equal(200, (await Get(env, Api + "users/get?username=bob", env.Admin)).Status);
    }

    [Fact]
    public async Task OnlyAdminsManageUsers()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        await env.UserAsync("bob");

        Assert.Equal(403, (await Post(env, Api + "users/create", alice, new { username = "carol", password = Password })).Status);
        Assert.Equal(403, (await Patch(env, Api + "users/update-admin", alice, new { username = "alice", is_admin = true })).Status);
        Assert.Equal(403, (await Patch(env, Api + "users/update-password", alice, new { username = "bob", password = Password })).Status);
        Assert.Equal(403, (await Delete(env, Api + "users/delete", alice, new { username = "bob" })).Status);

        Assert.Null(await env.Auth.Store.GetUserAsync("carol"));
        Assert.False((await env.Auth.Store.RequireUserAsync("alice")).IsAdmin);
        Assert.NotNull(await env.Auth.Store.GetUserAsync("bob"));
    }

    [Theory]
    [InlineData("GET", Api + "users/get?username=admin")]
    [InlineData("POST", Api + "users/create")]
    [InlineData("PATCH", Api + "users/update-password")]
    [InlineData("PATCH", Api + "users/update-admin")]
    [InlineData("DELETE", Api + "users/delete")]
    [InlineData("GET", Api + "experiments/permissions/get?experiment_id=0&username=admin")]
    [InlineData("POST", Api + "experiments/permissions/create")]
    [InlineData("PATCH", Api + "experiments/permissions/update")]
    [InlineData("DELETE", Api + "experiments/permissions/delete")]
    [InlineData("GET", Api + "registered-models/permissions/get?name=m&username=admin")]
    [InlineData("POST", Api + "registered-models/permissions/create")]
    [InlineData("PATCH", Api + "registered-models/permissions/update")]
    [InlineData("DELETE", Api + "registered-models/permissions/delete")]
    [InlineData("POST", Tokens + "create")]
    [InlineData("GET", Tokens + "list?username=admin")]
    [InlineData("POST", Tokens + "revoke")]
    public async Task WithoutACredentialEveryRouteAnswers401WithAChallenge(string method, string path)
    {
        await using var env = await StartAsync();

        var (status, body, response) = await SendAsync(env, new HttpMethod(method), path, null,
            method == "GET" ? null : new { username = "admin", password = Password, experiment_id = "0", name = "m", permission = "MANAGE", token_id = "x" });

        using (response)
        {
            Assert.Equal((401, "UNAUTHENTICATED"), (status, ErrorCode(body)));
            Assert.Contains(response.Headers.WwwAuthenticate, c => c.Scheme == "Basic");
        }
    }

    [Fact]
    public async Task AfterAPasswordChangeOnlyTheNewPasswordSignsIn()
    {
        await using var env = await StartAsync();
        await env.Auth.Store.CreateUserAsync("alice", Password);
        const string newPassword = "a brand new passphrase";

        var (status, body) = await Patch(env, Api + "users/update-password", Basic("alice", Password), new { username = "alice", password = newPassword });

        Assert.Equal(200, status);
        Assert.Empty(body!.AsObject());
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", Basic("alice", newPassword))).Status);
        Assert.Equal(401, (await Get(env, Api + "users/get?username=alice", Basic("alice", Password))).Status);
        var weak = await Patch(env, Api + "users/update-password", Basic("alice", newPassword), new { username = "alice", password = "short" });
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (weak.Status, ErrorCode(weak.Body)));
        // An admin may set anyone's.
        Assert.Equal(200, (await Patch(env, Api + "users/update-password", env.Admin, new { username = "alice", password = Password })).Status);
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", Basic("alice", Password))).Status);
        Assert.Equal(404, (await Patch(env, Api + "users/update-password", env.Admin, new { username = "nobody", password = Password })).Status);
    }

    [Fact]
    public async Task UpdateAdminGrantsAndWithdrawsAdminRightsAtOnce()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        await env.UserAsync("bob");
        Assert.Equal(403, (await Get(env, Api + "users/get?username=bob", alice)).Status);

        Assert.Equal(200, (await Patch(env, Api + "users/update-admin", env.Admin, new { username = "alice", is_admin = true })).Status);

        var (status, bob) = await Get(env, Api + "users/get?username=bob", alice);
        Assert.Equal(200, status);
        Assert.Equal("bob", (string)bob!["user"]!["username"]!);
        Assert.True((bool)(await Get(env, Api + "users/get?username=alice", alice)).Body!["user"]!["is_admin"]!);

        Assert.Equal(200, (await Patch(env, Api + "users/update-admin", env.Admin, new { username = "alice", is_admin = false })).Status);
        Assert.Equal(403, (await Get(env, Api + "users/get?username=bob", alice)).Status);
        var notBool = await Patch(env, Api + "users/update-admin", env.Admin, new { username = "alice", is_admin = "yes" });
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (notBool.Status, ErrorCode(notBool.Body)));
        var noFlag = await Patch(env, Api + "users/update-admin", env.Admin, new { username = "alice" });
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (noFlag.Status, ErrorCode(noFlag.Body)));
    }

    [Fact]
    public async Task ADeletedUsersTokenStopsWorkingAtOnce()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", alice)).Status);

        var (status, body) = await Delete(env, Api + "users/delete", env.Admin, new { username = "alice" });

        Assert.Equal(200, status);
        Assert.Empty(body!.AsObject());
        Assert.Equal(401, (await Get(env, Api + "users/get?username=alice", alice)).Status);
        Assert.Equal(404, (await Get(env, Api + "users/get?username=alice", env.Admin)).Status);
        Assert.Equal(404, (await Delete(env, Api + "users/delete", env.Admin, new { username = "alice" })).Status);
    }

    [Fact]
    public async Task ADeleteMayNameItsArgumentsInTheQuery()
    {
        // MLflow reads a DELETE's arguments from its JSON body, or from the query when it has none.
        await using var env = await StartAsync();
        await env.UserAsync("alice");

        Assert.Equal(200, (await Delete(env, Api + "users/delete?username=alice", env.Admin, null)).Status);

        Assert.Null(await env.Auth.Store.GetUserAsync("alice"));
    }

    // ---- experiment permissions ----

    [Fact]
    public async Task AManagerGrantsReadsUpdatesAndDeletesExperimentPermissions()
    {
        await using var env = await StartAsync();
        var owner = await env.UserAsync("owner");
        await env.UserAsync("bob");
        // Something the owner's grants are looked up (and cached) for, before they create the experiment.
        Assert.Equal(200, (await Get(env, Api + "experiments/get?experiment_id=0", owner)).Status);
        var experimentId = await CreateExperimentAsync(env, owner);
        var bobId = (await env.Auth.Store.RequireUserAsync("bob")).Id;

        var (status, created) = await Post(env, Api + "experiments/permissions/create", owner,
            new { experiment_id = experimentId, username = "bob", permission = "READ" });

        Assert.Equal(200, status);
        Assert.Equal(experimentId, (string)created!["experiment_permission"]!["experiment_id"]!);
        Assert.Equal(bobId, (long)created["experiment_permission"]!["user_id"]!);
        Assert.Equal("READ", (string)created["experiment_permission"]!["permission"]!);

        var query = $"experiment_id={experimentId}&username=bob";
        var (getStatus, got) = await Get(env, Api + "experiments/permissions/get?" + query, owner);
        Assert.Equal(200, getStatus);
        Assert.Equal("READ", (string)got!["experiment_permission"]!["permission"]!);

        var (updateStatus, updated) = await Patch(env, Api + "experiments/permissions/update", owner,
            new { experiment_id = experimentId, username = "bob", permission = "EDIT" });
        Assert.Equal(200, updateStatus);
        Assert.Empty(updated!.AsObject());
        Assert.Equal("EDIT", (string)(await Get(env, Api + "experiments/permissions/get?" + query, owner)).Body!["experiment_permission"]!["permission"]!);
        var listed = (await Get(env, Api + "users/get?username=bob", env.Admin)).Body!["user"]!["experiment_permissions"]!.AsArray();
        Assert.Contains(listed, p => (string)p!["experiment_id"]! == experimentId && (string)p["permission"]! == "EDIT");

        var (deleteStatus, deleted) = await Delete(env, Api + "experiments/permissions/delete", owner, new { experiment_id = experimentId, username = "bob" });
        Assert.Equal(200, deleteStatus);
        Assert.Empty(deleted!.AsObject());
        var gone = await Get(env, Api + "experiments/permissions/get?" + query, owner);
        Assert.Equal((404, "RESOURCE_DOES_NOT_EXIST"), (gone.Status, ErrorCode(gone.Body)));
        Assert.Equal(404, (await Delete(env, Api + "experiments/permissions/delete", owner, new { experiment_id = experimentId, username = "bob" })).Status);
        Assert.Equal(404, (await Patch(env, Api + "experiments/permissions/update", owner,
            new { experiment_id = experimentId, username = "bob", permission = "READ" })).Status);
    }

    [Fact]
    public async Task ExperimentPermissionErrorsAreMlflows()
    {
        await using var env = await StartAsync();
        var owner = await env.UserAsync("owner");
        await env.UserAsync("bob");
        var experimentId = await CreateExperimentAsync(env, owner);
        Assert.Equal(200, (await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "bob", permission = "READ" })).Status);

        var duplicate = await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "bob", permission = "EDIT" });
        var badName = await Post(env, Api + "experiments/permissions/create", env.Admin, new { experiment_id = experimentId, username = "admin", permission = "read" });
        var badUpdate = await Patch(env, Api + "experiments/permissions/update", owner, new { experiment_id = experimentId, username = "bob", permission = "OWNER" });
        var noUser = await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "nobody", permission = "READ" });
        var noPermission = await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "admin" });

        Assert.Equal((400, "RESOURCE_ALREADY_EXISTS"), (duplicate.Status, ErrorCode(duplicate.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (badName.Status, ErrorCode(badName.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (badUpdate.Status, ErrorCode(badUpdate.Body)));
        Assert.Equal((404, "RESOURCE_DOES_NOT_EXIST"), (noUser.Status, ErrorCode(noUser.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (noPermission.Status, ErrorCode(noPermission.Body)));
        Assert.Equal("READ", (string)(await Get(env, Api + $"experiments/permissions/get?experiment_id={experimentId}&username=bob", owner)).Body!["experiment_permission"]!["permission"]!);
    }

    [Fact]
    public async Task AnEditorCannotManageTheExperimentsPermissions()
    {
        await using var env = await StartAsync();
        var owner = await env.UserAsync("owner");
        var editor = await env.UserAsync("editor");
        await env.UserAsync("bob");
        var experimentId = await CreateExperimentAsync(env, owner);
        Assert.Equal(200, (await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "editor", permission = "EDIT" })).Status);
        Assert.Equal(200, (await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "bob", permission = "READ" })).Status);

        Assert.Equal(403, (await Post(env, Api + "experiments/permissions/create", editor, new { experiment_id = experimentId, username = "admin", permission = "READ" })).Status);
        Assert.Equal(403, (await Get(env, Api + $"experiments/permissions/get?experiment_id={experimentId}&username=bob", editor)).Status);
        Assert.Equal(403, (await Patch(env, Api + "experiments/permissions/update", editor, new { experiment_id = experimentId, username = "editor", permission = "MANAGE" })).Status);
        Assert.Equal(403, (await Delete(env, Api + "experiments/permissions/delete", editor, new { experiment_id = experimentId, username = "bob" })).Status);

        Assert.Equal("EDIT", (await env.Auth.Store.GetExperimentPermissionAsync(experimentId, "editor"))!.Permission.Name);
        Assert.NotNull(await env.Auth.Store.GetExperimentPermissionAsync(experimentId, "bob"));
    }

    [Fact]
    public async Task AGrantTakesEffectOnTheNextRequest()
    {
        await using var env = await StartAsync();
        var owner = await env.UserAsync("owner");
        var reader = await env.UserAsync("reader");
        var experimentId = await CreateExperimentAsync(env, owner);
        var (runStatus, run) = await Post(env, Api + "runs/create", owner, new { experiment_id = experimentId, start_time = 1 });
        Assert.Equal(200, runStatus);
        var runId = (string)run!["run"]!["info"]!["run_id"]!;
        var metric = new { run_id = runId, key = "loss", value = 0.5, timestamp = 1, step = 0 };
        // The default (READ) lets the reader read, not write.
        Assert.Equal(200, (await Get(env, Api + $"runs/get?run_id={runId}", reader)).Status);
        Assert.Equal(403, (await Post(env, Api + "runs/log-metric", reader, metric)).Status);

        Assert.Equal(200, (await Post(env, Api + "experiments/permissions/create", owner, new { experiment_id = experimentId, username = "reader", permission = "NO_PERMISSIONS" })).Status);
        Assert.Equal(403, (await Get(env, Api + $"runs/get?run_id={runId}", reader)).Status);

        Assert.Equal(200, (await Patch(env, Api + "experiments/permissions/update", owner, new { experiment_id = experimentId, username = "reader", permission = "EDIT" })).Status);
        Assert.Equal(200, (await Post(env, Api + "runs/log-metric", reader, metric)).Status);

        Assert.Equal(200, (await Delete(env, Api + "experiments/permissions/delete", owner, new { experiment_id = experimentId, username = "reader" })).Status);
        Assert.Equal(403, (await Post(env, Api + "runs/log-metric", reader, metric)).Status);
    }

    // ---- registered-model permissions ----

    [Fact]
    public async Task RegisteredModelPermissionsAreManagedByName()
    {
        await using var env = await StartAsync();
        var owner = await env.UserAsync("owner");
        var bob = await env.UserAsync("bob");
        var ownerId = (await env.Auth.Store.RequireUserAsync("owner")).Id;
        // No registry yet: permissions name models that need not exist, as MLflow's do.
        var (status, created) = await Post(env, Api + "registered-models/permissions/create", env.Admin, new { name = "churn", username = "owner", permission = "MANAGE" });
        Assert.Equal(200, status);
        Assert.Equal("churn", (string)created!["registered_model_permission"]!["name"]!);
        Assert.Equal(ownerId, (long)created["registered_model_permission"]!["user_id"]!);
        Assert.Equal("MANAGE", (string)created["registered_model_permission"]!["permission"]!);

        Assert.Equal(200, (await Post(env, Api + "registered-models/permissions/create", owner, new { name = "churn", username = "bob", permission = "READ" })).Status);
        var (getStatus, got) = await Get(env, Api + "registered-models/permissions/get?name=churn&username=bob", owner);
        Assert.Equal(200, getStatus);
        Assert.Equal("READ", (string)got!["registered_model_permission"]!["permission"]!);
        Assert.Equal(200, (await Patch(env, Api + "registered-models/permissions/update", owner, new { name = "churn", username = "bob", permission = "EDIT" })).Status);
        var listed = (await Get(env, Api + "users/get?username=bob", bob)).Body!["user"]!["registered_model_permissions"]!.AsArray();
        Assert.Equal(("churn", "EDIT"), ((string)listed.Single()!["name"]!, (string)listed.Single()!["permission"]!));

        // bob can edit, not manage; nobody but admins manages a model nobody granted them.
        Assert.Equal(403, (await Post(env, Api + "registered-models/permissions/create", bob, new { name = "churn", username = "admin", permission = "READ" })).Status);
        Assert.Equal(403, (await Post(env, Api + "registered-models/permissions/create", owner, new { name = "fraud", username = "bob", permission = "READ" })).Status);
        var duplicate = await Post(env, Api + "registered-models/permissions/create", owner, new { name = "churn", username = "bob", permission = "READ" });
        Assert.Equal((400, "RESOURCE_ALREADY_EXISTS"), (duplicate.Status, ErrorCode(duplicate.Body)));
        var badName = await Patch(env, Api + "registered-models/permissions/update", owner, new { name = "churn", username = "bob", permission = "ALL" });
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (badName.Status, ErrorCode(badName.Body)));

        Assert.Equal(200, (await Delete(env, Api + "registered-models/permissions/delete", owner, new { name = "churn", username = "bob" })).Status);
        var gone = await Get(env, Api + "registered-models/permissions/get?name=churn&username=bob", owner);
        Assert.Equal((404, "RESOURCE_DOES_NOT_EXIST"), (gone.Status, ErrorCode(gone.Body)));
    }

    // ---- tokens ----

    [Fact]
    public async Task AUserCreatesATokenThatWorksAsBearerAndAsBasicPassword()
    {
        await using var env = await StartAsync();
        await env.Auth.Store.CreateUserAsync("alice", Password);
        var alice = Basic("alice", Password);

        var (status, created) = await Post(env, Tokens + "create", alice, new { name = "laptop", expires_in_days = 30 });

        Assert.Equal(200, status);
        var token = (string)created!["token"]!;
        var info = created["token_info"]!;
        Assert.StartsWith("trk_", token);
        Assert.Contains((string)info["token_id"]!, token);
        Assert.Equal("alice", (string)info["username"]!);
        Assert.Equal("laptop", (string)info["name"]!);
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds((long)info["created_at"]!);
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)info["expires_at"]!);
        Assert.InRange(expiresAt - createdAt, TimeSpan.FromDays(30) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1));
        Assert.Null(info["revoked_at"]);
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", Bearer(token))).Status);
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", Basic("alice", token))).Status);
    }

    [Fact]
    public async Task TokenCreationIsCheckedAndOnlyAdminsNameAnotherOwner()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        await env.UserAsync("bob");

        var forBob = await Post(env, Tokens + "create", alice, new { name = "sneaky", username = "bob" });
        var noName = await Post(env, Tokens + "create", alice, new { expires_in_days = 3 });
        var zeroDays = await Post(env, Tokens + "create", alice, new { name = "x", expires_in_days = 0 });
        var (adminStatus, byAdmin) = await Post(env, Tokens + "create", env.Admin, new { name = "ci job", username = "bob" });
        var forSelfByName = await Post(env, Tokens + "create", alice, new { name = "mine", username = "alice" });

        Assert.Equal((403, "PERMISSION_DENIED"), (forBob.Status, ErrorCode(forBob.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (noName.Status, ErrorCode(noName.Body)));
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (zeroDays.Status, ErrorCode(zeroDays.Body)));
        Assert.Equal(200, forSelfByName.Status);
        Assert.Equal(200, adminStatus);
        Assert.Equal("bob", (string)byAdmin!["token_info"]!["username"]!);
        Assert.Null(byAdmin["token_info"]!["expires_at"]);
        Assert.Equal(200, (await Get(env, Api + "users/get?username=bob", Bearer((string)byAdmin["token"]!))).Status);
        Assert.DoesNotContain(await env.Auth.Store.ListTokensAsync("bob"), t => t.Name == "sneaky");
    }

    [Fact]
    public async Task TokenListsShowNoSecretsAndOnlyToTheOwnerOrAnAdmin()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        var bob = await env.UserAsync("bob");
        var (_, created) = await Post(env, Tokens + "create", alice, new { name = "second" });

        var (status, body, response) = await SendAsync(env, HttpMethod.Get, Tokens + "list?username=alice", alice);
        var text = await response.Content.ReadAsStringAsync();
        response.Dispose();

        Assert.Equal(200, status);
        var tokens = body!["tokens"]!.AsArray();
        Assert.Equal(["second", "test"], tokens.Select(t => (string)t!["name"]!).Order());
        Assert.All(tokens, t => Assert.Equal("alice", (string)t!["username"]!));
        Assert.Contains(tokens, t => (string)t!["token_id"]! == (string)created!["token_info"]!["token_id"]!);
        Assert.DoesNotContain("trk_", text);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"token\"", text);
        Assert.Equal(403, (await Get(env, Tokens + "list?username=alice", bob)).Status);
        Assert.Equal(2, (await Get(env, Tokens + "list?username=alice", env.Admin)).Body!["tokens"]!.AsArray().Count);
    }

    [Fact]
    public async Task AnOwnerOrAnAdminRevokesATokenAndItStopsWorking()
    {
        await using var env = await StartAsync();
        var alice = await env.UserAsync("alice");
        var bob = await env.UserAsync("bob");
        async Task<(string Id, AuthenticationHeaderValue Credential)> NewTokenAsync(AuthenticationHeaderValue owner, string name)
        {
            var (_, created) = await Post(env, Tokens + "create", owner, new { name });
            return ((string)created!["token_info"]!["token_id"]!, Bearer((string)created["token"]!));
        }
        var first = await NewTokenAsync(alice, "first");
        var second = await NewTokenAsync(alice, "second");
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", first.Credential)).Status);

        var byBob = await Post(env, Tokens + "revoke", bob, new { token_id = first.Id });
        Assert.Equal((403, "PERMISSION_DENIED"), (byBob.Status, ErrorCode(byBob.Body)));
        Assert.Equal(200, (await Get(env, Api + "users/get?username=alice", first.Credential)).Status);

        var (status, revoked) = await Post(env, Tokens + "revoke", alice, new { token_id = first.Id });
        Assert.Equal(200, status);
        Assert.Equal(first.Id, (string)revoked!["token_info"]!["token_id"]!);
        Assert.NotNull(revoked["token_info"]!["revoked_at"]);
        Assert.Equal(401, (await Get(env, Api + "users/get?username=alice", first.Credential)).Status);

        Assert.Equal(200, (await Post(env, Tokens + "revoke", env.Admin, new { token_id = second.Id })).Status);
        Assert.Equal(401, (await Get(env, Api + "users/get?username=alice", second.Credential)).Status);

        var unknown = await Post(env, Tokens + "revoke", alice, new { token_id = "0123456789abcdef" });
        Assert.Equal((404, "RESOURCE_DOES_NOT_EXIST"), (unknown.Status, ErrorCode(unknown.Body)));
        Assert.Equal(200, (await Get(env, Api + "users/get?username=bob", bob)).Status);
        var listed = (await Get(env, Tokens + "list?username=alice", alice)).Body!["tokens"]!.AsArray();
        Assert.Equal(2, listed.Count(t => t!["revoked_at"] is not null));
    }
}
