using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Auth;
using Tracker.Core.Promotions;
using Tracker.Core.Tracking;
using Tracker.Core.Webhooks;
using Tracker.Functions.Auth;
using Tracker.Functions.Endpoints;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// Default deny over the route table itself (security baseline §1.6, case 9 DefaultDeny_AllRoutes): every route the app
/// maps, including any added later, declares its access, and a table-driven walk calls each one as every kind of caller
/// and checks the answer against that declaration. Requests are built generically from the route pattern and a few
/// standard argument names, so a new route is covered without editing this file.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class RouteAccessTests(AzuriteFixture azurite)
{
    /// <summary>What may be called without a credential: health, version, and the web UI's pages (GET / is also the
    /// Functions host's readiness probe), assets and settings, which hold no data.</summary>
    private static readonly string[] PublicRoutes =
    [
        "GET /health", "GET /version",
        "GET /", "GET /experiments/{**rest}", "GET /compare", "GET /models/{**rest}", "GET /assets/{file}", "GET /ui-config.json",
    ];

    private static List<(string Method, RouteEndpoint Endpoint)> Routes(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (m, e)))
            .ToList();

    private static string Name(string method, RouteEndpoint endpoint) => $"{method} {endpoint.RoutePattern.RawText}";

    [Fact]
    public async Task EveryRouteDeclaresItsAccessAndOnlyServiceRoutesArePublic()
    {
        await using var app = new AuthedApp(azurite);
        var routes = Routes(app.Services);
        Assert.True(routes.Count > 40, $"the route table should hold MLflow's API, got {routes.Count} routes");

        var undeclared = routes.Where(r => r.Endpoint.Metadata.GetMetadata<RouteAccess>() is null).Select(r => Name(r.Method, r.Endpoint)).ToList();
        Assert.True(undeclared.Count == 0, "routes without a RouteAccess declaration: " + string.Join(", ", undeclared));
        var open = routes.Where(r => r.Endpoint.Metadata.GetMetadata<RouteAccess>()!.Rule == AccessRule.Public).Select(r => Name(r.Method, r.Endpoint));
        Assert.Equal(PublicRoutes.Order(StringComparer.Ordinal), open.Order(StringComparer.Ordinal));
    }

    private enum Kind { None, Bad, User, Admin }

    private sealed record CallerCase(string Name, Kind Kind, Permission Level = default)
    {
        public string? Authorization { get; set; }
    }

    [Fact]
    public async Task EveryRouteAnswersEachCallerAsItsDeclarationSays()
    {
        await using var app = new AuthedApp(azurite);
        var admin = await app.UserAsync("matrix-admin", admin: true);
        var experiment = await app.CreateExperimentAsync(admin, "matrix-" + Guid.NewGuid().ToString("N"));
        var experimentName = (string)(await app.GetAsync(admin, $"experiments/get?experiment_id={experiment}"))["experiment"]!["name"]!;
        var run = await app.CreateRunAsync(admin, experiment);

        CallerCase[] callers =
        [
            new("no credential", Kind.None),
            new("bad credential", Kind.Bad) { Authorization = AuthedApp.Bearer(UnknownToken()) },
            new("NO_PERMISSIONS", Kind.User, Permission.NoPermissions),
            new("READ", Kind.User, Permission.Read),
            new("EDIT", Kind.User, Permission.Edit),
            new("MANAGE", Kind.User, Permission.Manage),
            new("admin", Kind.Admin) { Authorization = admin },
        ];
        foreach (var caller in callers.Where(c => c.Kind == Kind.User))
        {
            var user = "matrix-" + caller.Name.ToLowerInvariant().Replace('_', '-');
            caller.Authorization = await app.UserAsync(user);
            await app.Store.CreateExperimentPermissionAsync(experiment, user, caller.Level);
        }
        // The sample model exists (an admin's, with version 1 from the sample run), so a create by anyone else is a
        // duplicate, not a model of their own to manage.
        async Task RestoreSampleModelAsync()
        {
            if ((await app.StatusAsync(HttpMethod.Get, $"{AuthedApp.Api}registered-models/get?name={SampleModel}", admin)).Status == 404)
            {
                await app.PostAsync(admin, "registered-models/create", new JsonObject { ["name"] = SampleModel });
                await app.PostAsync(admin, "model-versions/create", new JsonObject { ["name"] = SampleModel, ["source"] = $"runs:/{run}/model" });
            }
            foreach (var caller in callers.Where(c => c.Kind == Kind.User))
            {
                var user = "matrix-" + caller.Name.ToLowerInvariant().Replace('_', '-');
                if (await app.Store.GetRegisteredModelPermissionAsync(SampleModel, user) is null)
                    await app.Store.CreateRegisteredModelPermissionAsync(SampleModel, user, caller.Level);
                else
                    await app.Store.UpdateRegisteredModelPermissionAsync(SampleModel, user, caller.Level);
            }
        }
        await RestoreSampleModelAsync();
        // A promotion of the sample model, for the routes that name one by id (stored directly: nothing is queued).
        var promotionId = PromotionStore.NewId(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await app.Services.GetRequiredService<PromotionStore>().AddAsync(new Promotion(promotionId, SampleModel, 1,
            new PromotionTarget("Staging", null), true, null, PromotionStatus.Pending, "matrix-admin", 1, 1, null, null));
        // A webhook scoped to the sample model, for the routes that name one (MANAGE on the model manages it). Its URL is
        // refused at connect time, so test answers at once; a delete that passed is undone before the next request.
        var webhooks = app.Services.GetRequiredService<WebhookService>();
        var webhookId = "";
        async Task RestoreSampleWebhookAsync()
        {
            if (await app.Services.GetRequiredService<WebhookStore>().GetAsync(webhookId) is null)
                webhookId = (await webhooks.CreateAsync(new NewWebhook("matrix", null, "http://127.0.0.1:9/hook",
                    [WebhookEvents.RegisteredModelCreated], null, null, SampleModel), default)).WebhookId;
        }
        var sampleMayBeGone = false;
        await app.Store.CreateUserAsync(OtherUser, password: null);

        var failures = new List<string>();
        // Routes that destroy what the others use run last, so every earlier request meets the same experiment and run.
        foreach (var (method, endpoint) in Routes(app.Services).OrderBy(r => IsDestructive(r.Method, r.Endpoint)).ThenBy(r => Name(r.Method, r.Endpoint), StringComparer.Ordinal))
        {
            // An undeclared route is refused to everyone; the walk above names it.
            if (endpoint.Metadata.GetMetadata<RouteAccess>() is not { } access) continue;
            // Host invocations take no user credential at all; Triggers/QueueTriggerContractTests covers who may call them.
            if (access.Rule == AccessRule.FunctionsHost) continue;
            foreach (var caller in callers)
            {
                // A rename or delete that passed took the sample model (and its grants, which follow it) away.
                if (sampleMayBeGone) await RestoreSampleModelAsync();
                sampleMayBeGone = MovesTheSampleModel(endpoint);
                await RestoreSampleWebhookAsync();
                var marker = "m" + Guid.NewGuid().ToString("N");
                var (path, body) = SampleRequest(method, endpoint.RoutePattern.RawText!, experiment, experimentName, run, marker, promotionId, webhookId);
                var (status, text, challenged) = await app.StatusAsync(new HttpMethod(method), path, caller.Authorization, body);
                var where = $"{Name(method, endpoint)} [{access}] as {caller.Name}: {status} {text[..Math.Min(text.Length, 200)]}";
                var expected = Expected(access, caller);
                if (expected == 401 && (status != 401 || !challenged)) failures.Add($"{where}; expected 401 with WWW-Authenticate");
                else if (expected == 403 && status != 403) failures.Add($"{where}; expected 403");
                else if (expected == 0 && status is 401 or 403 or >= 500) failures.Add($"{where}; expected to pass the access check");

                // A refused write leaves no trace: the marker it carried (tag value, new name) is nowhere in the experiment or run.
                if (expected != 0 && method != "GET")
                {
                    var state = (await app.GetAsync(admin, $"experiments/get?experiment_id={experiment}")).ToJsonString()
                                + (await app.GetAsync(admin, $"runs/get?run_id={run}")).ToJsonString();
                    if (state.Contains(marker, StringComparison.Ordinal)) failures.Add($"{where}; the refused request changed state");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures));
    }

    /// <summary>401 (with a challenge), 403, or 0 for "passed the access check" (any answer but 401, 403 and 5xx).</summary>
    private static int Expected(RouteAccess access, CallerCase caller)
    {
        if (access.Rule == AccessRule.Public) return 0;
        if (caller.Kind is Kind.None or Kind.Bad) return 401;
        if (caller.Kind == Kind.Admin) return 0;
        return access.Rule switch
        {
            AccessRule.SignedIn => 0,
            AccessRule.Permission => caller.Level >= access.Level ? 0 : 403,
            // The sample names another user than the caller: only an admin may act on them.
            AccessRule.SelfOrAdmin or AccessRule.Admin => 403,
            _ => throw new InvalidOperationException($"No expectation for {access.Rule}: classify it here."),
        };
    }

    private const string SampleModel = "matrix-model";
    private const string OtherUser = "matrix-other";

    /// <summary>
    /// A valid-looking request for a route: route parameters filled by name, and MLflow's standard arguments (in the
    /// query for GET and DELETE, in the JSON body otherwise, and in the query too for the routes whose body is a file).
    /// </summary>
    private static (string PathAndQuery, JsonObject? Body) SampleRequest(
        string method, string pattern, string experiment, string experimentName, string run, string marker, string promotionId, string webhookId)
    {
        var artifactDir = $"{experiment}/{run}/artifacts";
        var path = RouteParameter().Replace(pattern, m => m.Groups[1].Value switch
        {
            "path" => artifactDir + "/sample.txt",
            // A logged model id of the experiment (one that does not exist: the handler's 404 is past the access check).
            "model_id" => LoggedModelIds.New(experiment),
            "tag_key" => "matrix",
            "webhook_id" => webhookId,
            // The web UI's pages and assets (public; a missing asset is a 404, past the access check).
            "rest" => "1",
            "file" => "index-00000000.js",
            var other => throw new InvalidOperationException($"{pattern}: no sample value for route parameter '{other}'; add one here."),
        });
        var args = new Dictionary<string, string>
        {
            ["experiment_id"] = experiment, ["experiment_ids"] = experiment, ["experiment_name"] = experimentName,
            ["run_id"] = run, ["run_ids"] = run, ["run_uuid"] = run,
            ["path"] = pattern.StartsWith(ArtifactEndpoints.Root, StringComparison.Ordinal) ? artifactDir : "sample.txt",
            ["name"] = SampleModel, ["version"] = "1", ["alias"] = "matrix", ["stage"] = "Staging", ["source"] = $"runs:/{run}/model", ["username"] = OtherUser, ["metric_key"] = "m", ["key"] = "matrix", ["value"] = marker, ["new_name"] = marker,
            ["id"] = promotionId, ["model_name"] = SampleModel,
        };
        var query = QueryHelpers.AddQueryString(path, args.Where(a => method is "GET" or "DELETE" || a.Key is "run_uuid" or "path").Select(a => KeyValuePair.Create(a.Key, (string?)a.Value)));
        if (method is "GET" or "DELETE" or "PUT" || pattern.EndsWith("/upload-artifact", StringComparison.Ordinal)) return (query, null);
        var body = new JsonObject();
        foreach (var (key, value) in args.Where(a => a.Key != "run_uuid"))
            body[key] = key is "experiment_ids" or "run_ids" ? new JsonArray(value) : value;
        body["tags"] = new JsonArray(new JsonObject { ["key"] = "matrix", ["value"] = marker });
        return (query, body);
    }

    [GeneratedRegex(@"\{\**([A-Za-z_]+)[^}]*\}")]
    private static partial Regex RouteParameter();

    private static bool IsDestructive(string method, RouteEndpoint endpoint) =>
        method == "DELETE" || endpoint.RoutePattern.RawText!.Contains("delete", StringComparison.Ordinal) ||
        endpoint.RoutePattern.RawText!.EndsWith("/experiments/update", StringComparison.Ordinal) || MovesTheSampleModel(endpoint);

    private static bool MovesTheSampleModel(RouteEndpoint endpoint) =>
        endpoint.RoutePattern.RawText!.EndsWith("/registered-models/rename", StringComparison.Ordinal) ||
        endpoint.RoutePattern.RawText!.EndsWith("/registered-models/delete", StringComparison.Ordinal);

    /// <summary>A well-formed Tracker token that was never issued.</summary>
    public static string UnknownToken() =>
        $"{TrackerToken.Prefix}{RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 16)}_{Base64Url(RandomNumberGenerator.GetBytes(32))}";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
