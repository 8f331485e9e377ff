using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;
using Tracker.Tests.Integration;

namespace Tracker.Tests.Webhooks;

/// <summary>
/// Webhooks end to end in local mode: a webhook created over MLflow's REST route, registry writes over the ordinary
/// API, the messages on the real queue in Azurite, the local poller handing them to the WebhookDelivery consumer, and
/// the signed POSTs arriving at a receiver this test runs on 127.0.0.1 (allowed only by the test setting). Each
/// signature is checked with the test's own HMAC-SHA256 per MLflow 3's definition.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WebhookEndToEndTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Secret = "s3cret-for-the-receiver";
    private readonly TrackerApp _app = new(azurite, settings: new Dictionary<string, string>
    {
        ["Tracker:Storage:QueuePrefix"] = "w" + Guid.NewGuid().ToString("N")[..10] + "-",
        ["Tracker:Triggers:LocalPolling"] = "true",
        ["Tracker:Triggers:VisibilityTimeout"] = "00:00:00",
        ["Tracker:Triggers:MaxPollingInterval"] = "00:00:00.200",
        ["Tracker:Webhooks:AllowLoopbackForTests"] = "true",
    });
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
    }

    private async Task<JsonNode> SendAsync(HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = ArtifactClient.Json(body);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text.Length == 0 ? "{}" : text)!;
    }

    private static object Event(string entity, string action) => new { entity, action };

    /// <summary>MLflow 3's definition (mlflow/webhooks/delivery.py), computed here independently of Tracker's code.</summary>
    private static void AssertSignedByMlflowsDefinition(WebhookReceiver.Received delivery, string secret)
    {
        var id = delivery.Headers["X-MLflow-Delivery-Id"];
        var timestamp = delivery.Headers["X-MLflow-Timestamp"];
        Assert.True(Guid.TryParse(id, out _), id);
        Assert.True(long.TryParse(timestamp, out var unix) && Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - unix) < 3600, timestamp);
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var expected = "v1," + Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(id + "." + timestamp + "." + delivery.Body)));
        Assert.Equal(expected, delivery.Headers["X-MLflow-Signature"]);
        Assert.StartsWith("application/json", delivery.Headers["Content-Type"]);
    }

    [Fact]
    public async Task EachRegistryEventReachesTheReceiverSignedAsMlflowSignsIt()
    {
        var model = "hooked-" + Guid.NewGuid().ToString("N");
        await SendAsync(HttpMethod.Post, Api + "webhooks", new
        {
            name = "all-registry-events",
            url = _receiver.Url("/registry"),
            secret = Secret,
            events = new[]
            {
                Event("REGISTERED_MODEL", "CREATED"), Event("MODEL_VERSION", "CREATED"), Event("MODEL_VERSION_TAG", "SET"),
                Event("MODEL_VERSION_TAG", "DELETED"), Event("MODEL_VERSION_ALIAS", "CREATED"), Event("MODEL_VERSION_ALIAS", "DELETED"),
            },
        });
        var experiment = (string)(await SendAsync(HttpMethod.Post, Api + "experiments/create", new { name = "hook-" + Guid.NewGuid().ToString("N") }))["experiment_id"]!;
        var run = (string)(await SendAsync(HttpMethod.Post, Api + "runs/create", new { experiment_id = experiment, start_time = 1 }))["run"]!["info"]!["run_id"]!;

        await SendAsync(HttpMethod.Post, Api + "registered-models/create", new { name = model, description = "the model", tags = new[] { new { key = "team", value = "ml" } } });
        await _receiver.WaitForAsync("/registry", 1);
        await SendAsync(HttpMethod.Post, Api + "model-versions/create", new { name = model, source = $"runs:/{run}/model", run_id = run });
        await _receiver.WaitForAsync("/registry", 2);
        await SendAsync(HttpMethod.Post, Api + "model-versions/set-tag", new { name = model, version = "1", key = "k", value = "v" });
        await _receiver.WaitForAsync("/registry", 3);
        await SendAsync(HttpMethod.Delete, $"{Api}model-versions/delete-tag?name={model}&version=1&key=k");
        await _receiver.WaitForAsync("/registry", 4);
        await SendAsync(HttpMethod.Post, Api + "registered-models/alias", new { name = model, alias = "champion", version = "1" });
        await _receiver.WaitForAsync("/registry", 5);
        await SendAsync(HttpMethod.Delete, $"{Api}registered-models/alias?name={model}&alias=champion");
        var deliveries = await _receiver.WaitForAsync("/registry", 6);

        foreach (var delivery in deliveries) AssertSignedByMlflowsDefinition(delivery, Secret);
        var bodies = deliveries.Select(d => JsonNode.Parse(d.Body)!).ToList();
        Assert.Equal(
            ["registered_model.created", "model_version.created", "model_version_tag.set", "model_version_tag.deleted",
             "model_version_alias.created", "model_version_alias.deleted"],
            bodies.Select(b => $"{b["entity"]}.{b["action"]}"));
        Assert.All(bodies, b => Assert.True(DateTimeOffset.TryParse((string)b["timestamp"]!, out _)));
        Assert.Equal(model, (string?)bodies[0]["data"]!["name"]);
        Assert.Equal("the model", (string?)bodies[0]["data"]!["description"]);
        Assert.Equal("ml", (string?)bodies[0]["data"]!["tags"]!["team"]);
        Assert.Equal("1", (string?)bodies[1]["data"]!["version"]);
        Assert.Equal($"runs:/{run}/model", (string?)bodies[1]["data"]!["source"]);
        Assert.Equal(run, (string?)bodies[1]["data"]!["run_id"]);
        Assert.Equal("v", (string?)bodies[2]["data"]!["value"]);
        Assert.Equal("k", (string?)bodies[3]["data"]!["key"]);
        Assert.Null(bodies[3]["data"]!["value"]);
        Assert.Equal("champion", (string?)bodies[4]["data"]!["alias"]);
        Assert.Equal("1", (string?)bodies[4]["data"]!["version"]);
        Assert.Equal("champion", (string?)bodies[5]["data"]!["alias"]);
        Assert.Equal(6, deliveries.Select(d => d.Headers["X-MLflow-Delivery-Id"]).Distinct().Count());
    }

    [Fact]
    public async Task PromotionOutcomesFireTrackersPromotionEventsAndTheAliasAPromotionSets()
    {
        var model = "promo-hook-" + Guid.NewGuid().ToString("N");
        await SendAsync(HttpMethod.Post, Api + "webhooks", new
        {
            name = "promotions",
            url = _receiver.Url("/promotions"),
            secret = Secret,
            events = new[] { Event("PROMOTION", "SUCCEEDED"), Event("PROMOTION", "REJECTED"), Event("MODEL_VERSION_ALIAS", "CREATED") },
        });
        var experiment = (string)(await SendAsync(HttpMethod.Post, Api + "experiments/create", new { name = "hook-" + Guid.NewGuid().ToString("N") }))["experiment_id"]!;
        await SendAsync(HttpMethod.Post, Api + "registered-models/create", new { name = model });
        foreach (var valLoss in new[] { 0.30, 0.40, 0.25 })
        {
            var run = (string)(await SendAsync(HttpMethod.Post, Api + "runs/create", new { experiment_id = experiment, start_time = 1 }))["run"]!["info"]!["run_id"]!;
            await SendAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = run, key = "val_loss", value = valLoss, timestamp = 1, step = 0 });
            await SendAsync(HttpMethod.Post, Api + "model-versions/create", new { name = model, source = $"runs:/{run}/model", run_id = run });
        }
        // The champion is version 1 (set by hand: one alias event); version 2 is worse, version 3 better.
        await SendAsync(HttpMethod.Post, Api + "registered-models/alias", new { name = model, alias = "champion", version = "1" });
        await _receiver.WaitForAsync("/promotions", 1);
        var gate = new { metric = "val_loss", direction = "lower_is_better", max_regression = 0.05 };
        await SendAsync(HttpMethod.Post, "/api/2.0/tracker/promotions/create",
            new { name = model, version = "2", target = new { alias = "champion" }, gate }, HttpStatusCode.Accepted);
        var rejected = JsonNode.Parse((await _receiver.WaitForAsync("/promotions", 2))[1].Body)!;
        await SendAsync(HttpMethod.Post, "/api/2.0/tracker/promotions/create",
            new { name = model, version = "3", target = new { alias = "champion" }, gate }, HttpStatusCode.Accepted);
        var deliveries = await _receiver.WaitForAsync("/promotions", 4);

        foreach (var delivery in deliveries) AssertSignedByMlflowsDefinition(delivery, Secret);
        Assert.Equal("promotion.rejected", $"{rejected["entity"]}.{rejected["action"]}");
        Assert.Equal("rejected", (string?)rejected["data"]!["status"]);
        Assert.Equal("2", (string?)rejected["data"]!["version"]);
        Assert.Equal(0.40, (double)rejected["data"]!["gate_result"]!["candidate_value"]!);
        Assert.Equal(0.30, (double)rejected["data"]!["gate_result"]!["baseline_value"]!);
        // The alias the promotion set is announced as if set by hand, and the outcome with the promotion as the API has it.
        var last = deliveries.Skip(2).Select(d => JsonNode.Parse(d.Body)!).OrderBy(b => (string)b["entity"]!, StringComparer.Ordinal).ToList();
        Assert.Equal("model_version_alias.created", $"{last[0]["entity"]}.{last[0]["action"]}");
        Assert.Equal("3", (string?)last[0]["data"]!["version"]);
        Assert.Equal("promotion.succeeded", $"{last[1]["entity"]}.{last[1]["action"]}");
        var promotion = (await SendAsync(HttpMethod.Get, $"/api/2.0/tracker/promotions/get?id={last[1]["data"]!["id"]}"))["promotion"]!;
        Assert.Equal(promotion.ToJsonString(), last[1]["data"]!.ToJsonString());
    }
}
