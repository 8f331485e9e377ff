using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Promotions;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// The three promotion routes over HTTP with auth on: the 202 answer and its shape, EDIT to request and READ to look,
/// and errors in MLflow's shape. The consumer is not run here (PromotionServiceTests covers it).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PromotionApiTests : IAsyncLifetime
{
    private const string Root = "/api/2.0/tracker/promotions/";
    private const string Model = "promo-model";
    private readonly AuthedApp _app;
    private readonly QueueClient _queue;
    private string _alice = "", _bob = "";

    public PromotionApiTests(AzuriteFixture azurite)
    {
        _queue = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
            .GetQueueClient("promotions-api-" + Guid.NewGuid().ToString("N")[..12]);
        // The app's own promotion service, on a queue of this class's own.
        _app = new AuthedApp(azurite, services: s => s.AddSingleton(sp => new PromotionService(
            sp.GetRequiredService<PromotionStore>(), sp.GetRequiredService<RegistryStore>(), sp.GetRequiredService<TrackingStore>(),
            sp.GetRequiredService<AuthStore>(), sp.GetRequiredService<IOptions<AuthOptions>>(), _queue, TimeProvider.System,
            NullLogger<PromotionService>.Instance)));
    }

    public async Task InitializeAsync()
    {
        _alice = await _app.UserAsync("alice");
        _bob = await _app.UserAsync("bob");
        var run = await _app.CreateRunAsync(_bob, await _app.CreateExperimentAsync(_bob, "promo-exp-" + Guid.NewGuid().ToString("N")));
        await _app.PostAsync(_bob, "registered-models/create", new JsonObject { ["name"] = Model });
        await _app.PostAsync(_bob, "model-versions/create", new JsonObject { ["name"] = Model, ["source"] = $"runs:/{run}/model", ["run_id"] = run });
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static JsonObject Request(string model = Model) => new()
    {
        ["name"] = model,
        ["version"] = "1",
        ["target"] = new JsonObject { ["stage"] = "production" },
        ["gate"] = new JsonObject { ["metric"] = "val_loss", ["direction"] = "lower_is_better", ["max_regression"] = 0.05 },
    };

    [Fact]
    public async Task ARequestIsAcceptedPendingQueuedOnceAndReadableByGetAndSearch()
    {
        var (status, body, _) = await _app.StatusAsync(HttpMethod.Post, Root + "create", _bob, Request());
        Assert.True(status == 202, body);
        var promotion = JsonNode.Parse(body)!["promotion"]!.AsObject();
        var id = (string)promotion["id"]!;
        Assert.Equal("pending", (string)promotion["status"]!);
        Assert.Equal("bob", (string)promotion["requester"]!);
        Assert.Equal(Model, (string)promotion["name"]!);
        Assert.Equal("1", (string)promotion["version"]!);
        Assert.Equal("Production", (string)promotion["target"]!["stage"]!);
        Assert.True((bool)promotion["archive_existing"]!);
        Assert.Equal("val_loss", (string)promotion["gate"]!["metric"]!);
        Assert.Equal(0.05, (double)promotion["gate"]!["max_regression"]!);
        Assert.Null(promotion["reason"]);

        var messages = (await _queue.ReceiveMessagesAsync(32)).Value;
        Assert.Equal(id, (string)JsonNode.Parse(Assert.Single(messages).Body.ToString())!["promotion_id"]!);

        Assert.Equal(promotion.ToJsonString(), (await _app.GetAsync(_bob, $"{Root}get?id={id}"))["promotion"]!.ToJsonString());
        var found = (await _app.GetAsync(_bob, $"{Root}search?name={Model}"))["promotions"]!.AsArray();
        Assert.Contains(found, p => (string)p!["id"]! == id);
    }

    [Fact]
    public async Task RequestingNeedsEditAndLookingNeedsRead()
    {
        var id = (string)(await _app.PostAsync(_bob, Root + "create", Request()))["promotion"]!["id"]!;
        Assert.Equal(403, (await _app.StatusAsync(HttpMethod.Post, Root + "create", _alice, Request())).Status);
        Assert.Equal(403, (await _app.StatusAsync(HttpMethod.Get, $"{Root}get?id={id}", _alice)).Status);
        Assert.Equal(403, (await _app.StatusAsync(HttpMethod.Get, $"{Root}search?name={Model}", _alice)).Status);
        Assert.Equal(401, (await _app.StatusAsync(HttpMethod.Get, $"{Root}get?id={id}", null)).Status);

        await _app.Store.CreateRegisteredModelPermissionAsync(Model, "alice", Permission.Read);
        Assert.Equal(id, (string)(await _app.GetAsync(_alice, $"{Root}get?id={id}"))["promotion"]!["id"]!);
        Assert.Equal(200, (await _app.StatusAsync(HttpMethod.Get, $"{Root}search?name={Model}", _alice)).Status);
        Assert.Equal(403, (await _app.StatusAsync(HttpMethod.Post, Root + "create", _alice, Request())).Status);

        await _app.Store.UpdateRegisteredModelPermissionAsync(Model, "alice", Permission.Edit);
        var (status, body, _) = await _app.StatusAsync(HttpMethod.Post, Root + "create", _alice, Request());
        Assert.True(status == 202, body);
        Assert.Equal("alice", (string)JsonNode.Parse(body)!["promotion"]!["requester"]!);
    }

    [Fact]
    public async Task BadRequestsAreRefusedInMlflowsShape()
    {
        var noTarget = Request();
        noTarget.Remove("target");
        var badDirection = Request();
        badDirection["gate"]!["direction"] = "down";
        var both = Request();
        both["target"] = new JsonObject { ["stage"] = "Production", ["alias"] = "champion" };
        var noVersion = Request();
        noVersion["version"] = "7";
        (HttpMethod, string, JsonObject?, int, string)[] cases =
        [
            (HttpMethod.Post, "create", noTarget, 400, "INVALID_PARAMETER_VALUE"),
            (HttpMethod.Post, "create", badDirection, 400, "INVALID_PARAMETER_VALUE"),
            (HttpMethod.Post, "create", both, 400, "INVALID_PARAMETER_VALUE"),
            (HttpMethod.Post, "create", noVersion, 404, "RESOURCE_DOES_NOT_EXIST"),
            (HttpMethod.Get, "get?id=0000000000000123456789abcdef0", null, 404, "RESOURCE_DOES_NOT_EXIST"),
            (HttpMethod.Get, "get?id=nope", null, 404, "RESOURCE_DOES_NOT_EXIST"),
            (HttpMethod.Get, $"search?name={Model}&max_results=0", null, 400, "INVALID_PARAMETER_VALUE"),
            (HttpMethod.Get, $"search?name={Model}&page_token=forged", null, 400, "INVALID_PARAMETER_VALUE"),
        ];
        foreach (var (method, route, body, expected, code) in cases)
        {
            var (status, text, _) = await _app.StatusAsync(method, Root + route, _bob, body);
            Assert.True(status == expected, $"{route}: {status} {text}");
            Assert.Equal(code, (string)JsonNode.Parse(text)!["error_code"]!);
        }
        await _queue.CreateIfNotExistsAsync(); // nothing was queued, so nothing created it
        Assert.Empty((await _queue.PeekMessagesAsync(10)).Value);
    }
}
