using System.Net;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Promotions;
using Tracker.Core.Storage;
using Tracker.Core.Webhooks;
using Tracker.Tests.Infrastructure;
using Tracker.Tests.Integration;

namespace Tracker.Tests.Webhooks;

/// <summary>
/// Publishing and delivery against Azurite without the poller, so each step is observed on the queue itself: what is
/// enqueued for whom, what the WebhookDelivery consumer does with a message (deliver, drop, retry later), and the
/// guarded client refusing loopback and private destinations in normal configuration and never following redirects.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WebhookDeliveryTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Api = "/api/2.0/mlflow/";
    private readonly string _queuePrefix = "d" + Guid.NewGuid().ToString("N")[..10] + "-";
    private TrackerApp _app = null!;
    private WebhookReceiver _receiver = null!;
    private QueueClient _queue = null!;

    public async Task InitializeAsync()
    {
        _app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:QueuePrefix"] = _queuePrefix,
            ["Tracker:Webhooks:AllowLoopbackForTests"] = "true",
            ["Tracker:Webhooks:MaxAttempts"] = "3",
            ["Tracker:Webhooks:RequestTimeout"] = "00:00:02",
        });
        _receiver = await WebhookReceiver.StartAsync();
        _queue = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
            .GetQueueClient(_queuePrefix + WebhookPublisher.QueueName);
        await _queue.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
    }

    private async Task<JsonNode> OkAsync(TrackerApp app, HttpMethod method, string path, object? body = null)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = ArtifactClient.Json(body);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text.Length == 0 ? "{}" : text)!;
    }

    private async Task<string> WebhookAsync(string path, string status = "ACTIVE", string? model = null, TrackerApp? app = null) =>
        (string)(await OkAsync(app ?? _app, HttpMethod.Post, Api + "webhooks", new
        {
            name = "hook " + path,
            url = path.StartsWith("http", StringComparison.Ordinal) ? path : _receiver.Url(path),
            status,
            model_name = model,
            secret = "k",
            events = new[] { new { entity = "REGISTERED_MODEL", action = "CREATED" } },
        }))["webhook"]!["webhook_id"]!;

    private async Task<string> CreateModelAsync(string? name = null)
    {
        name ??= "m-" + Guid.NewGuid().ToString("N");
        await OkAsync(_app, HttpMethod.Post, Api + "registered-models/create", new { name });
        return name;
    }

    /// <summary>Everything visible on the queue, taken off it (messages delayed for a retry are not visible).</summary>
    private async Task<List<WebhookDeliveryMessage>> DrainAsync()
    {
        var all = new List<WebhookDeliveryMessage>();
        while ((await _queue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } batch)
        {
            foreach (var m in batch)
            {
                all.Add(WebhookDeliveryMessage.Parse(m.MessageText) ?? throw new InvalidOperationException(m.MessageText));
                await _queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
            }
        }
        return all;
    }

    private Task HandleAsync(WebhookDeliveryMessage message) =>
        _app.Services.GetRequiredService<WebhookDeliveries>().HandleAsync(new QueueMessage(_queue.Name, message.ToJson(), 1, "m"), default);

    private async Task<int> QueuedIncludingDelayedAsync() => (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    [Fact]
    public async Task OnlyActiveSubscribersInScopeAreEnqueuedAndAQueuedDeliveryToAWebhookDisabledSinceIsDropped()
    {
        var other = await CreateModelAsync();
        var active = await WebhookAsync("/active");
        var disabled = await WebhookAsync("/disabled", status: "DISABLED");
        var scopedElsewhere = await WebhookAsync("/scoped-elsewhere", model: other);
        await DrainAsync(); // the model created for the scope

        var model = await CreateModelAsync();
        var queued = await DrainAsync();
        Assert.Equal([active], queued.Select(m => m.WebhookId));
        Assert.DoesNotContain(queued, m => m.WebhookId == disabled || m.WebhookId == scopedElsewhere);
        Assert.Contains(model, queued[0].Payload, StringComparison.Ordinal);

        // Disabled after the event was queued: the consumer reads the webhook again and sends nothing.
        await OkAsync(_app, HttpMethod.Patch, $"{Api}webhooks/{active}", new { status = "DISABLED" });
        await HandleAsync(queued[0]);
        Assert.Empty(_receiver.All);
        Assert.Equal(0, await QueuedIncludingDelayedAsync());
        // Enabled again, the same message is delivered.
        await OkAsync(_app, HttpMethod.Patch, $"{Api}webhooks/{active}", new { status = "ACTIVE" });
        await HandleAsync(queued[0]);
        Assert.Equal(queued[0].Payload, Assert.Single(_receiver.All).Body);

        // Deleted: dropped too.
        await OkAsync(_app, HttpMethod.Delete, $"{Api}webhooks/{active}");
        await HandleAsync(queued[0]);
        Assert.Single(_receiver.All);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    public async Task AFailedDeliveryIsRequeuedWithADelayUntilTheAttemptsRunOut(int status)
    {
        var id = await WebhookAsync($"/status/{status}");
        await CreateModelAsync();
        var first = Assert.Single(await DrainAsync());

        await HandleAsync(first);
        Assert.Single(_receiver.All);
        // One message waits on the queue, none is visible yet: the retry is delayed (30 s after the first attempt).
        Assert.Equal(1, await QueuedIncludingDelayedAsync());
        Assert.Empty((await _queue.PeekMessagesAsync(32)).Value);
        Assert.Equal(TimeSpan.FromSeconds(30), WebhookDeliveries.RetryDelay(first.Attempt));

        // The last allowed attempt (MaxAttempts 3) that fails is dropped, not requeued.
        await _queue.ClearMessagesAsync();
        await HandleAsync(first with { Attempt = 3 });
        Assert.Equal(2, _receiver.All.Count);
        Assert.Equal(0, await QueuedIncludingDelayedAsync());
        Assert.Equal(id, first.WebhookId);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(410)]
    public async Task AClientErrorIsNotRetried(int status)
    {
        await WebhookAsync($"/status/{status}");
        await CreateModelAsync();
        await HandleAsync(Assert.Single(await DrainAsync()));
        Assert.Single(_receiver.All);
        Assert.Equal(0, await QueuedIncludingDelayedAsync());
    }

    [Fact]
    public async Task ADeliveryWhoseSecretNoLongerDecryptsIsDroppedUnsigned()
    {
        var id = await WebhookAsync("/resealed");
        await CreateModelAsync();
        var queued = Assert.Single(await DrainAsync());
        // The sealed secret as another server key (or another webhook's row) would leave it: it does not open.
        var table = new Azure.Data.Tables.TableServiceClient(azurite.ConnectionString).GetTableClient(_app.TablePrefix + "webhooks");
        var row = (await table.GetEntityAsync<Azure.Data.Tables.TableEntity>("w", id)).Value;
        var sealedBytes = Convert.FromBase64String(row.GetString("Secret")!);
        sealedBytes[^1] ^= 0xFF;
        row["Secret"] = Convert.ToBase64String(sealedBytes);
        await table.UpdateEntityAsync(row, row.ETag);

        await HandleAsync(queued); // neither sent (unsigned or otherwise) nor thrown into the poison queue
        Assert.Empty(_receiver.All);
        Assert.Equal(0, await QueuedIncludingDelayedAsync());
    }

    [Fact]
    public async Task APromotionThatEndsInThePoisonQueueFiresPromotionFailed()
    {
        var model = await CreateModelAsync();
        var id = (string)(await OkAsync(_app, HttpMethod.Post, Api + "webhooks", new
        {
            name = "failures", url = _receiver.Url("/failed"), events = new[] { new { entity = "PROMOTION", action = "FAILED" } },
        }))["webhook"]!["webhook_id"]!;
        await DrainAsync();
        var promotionId = PromotionStore.NewId(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await _app.Services.GetRequiredService<PromotionStore>().AddAsync(new Promotion(promotionId, model, 1,
            new PromotionTarget("Production", null), true, null, PromotionStatus.Pending, "ci", 1, 1, null, "Delivery 5 failed: boom"));

        await _app.Services.GetRequiredService<PromotionService>().RecordPoisonAsync(
            new QueueMessage("model-promotions-poison", $"{{\"promotion_id\": \"{promotionId}\"}}", 1, "p"), default);

        var queued = Assert.Single(await DrainAsync());
        Assert.Equal(id, queued.WebhookId);
        var body = JsonNode.Parse(queued.Payload)!;
        Assert.Equal("promotion.failed", $"{body["entity"]}.{body["action"]}");
        Assert.Equal(promotionId, (string?)body["data"]!["id"]);
        Assert.Equal("failed", (string?)body["data"]!["status"]);
        Assert.Contains("poison queue", (string?)body["data"]!["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnswerWhoseBodyNeverEndsTimesOutAndIsRetried()
    {
        var id = await WebhookAsync("/stall-body");
        var result = (await OkAsync(_app, HttpMethod.Post, $"{Api}webhooks/{id}/test", new { }))["result"]!;
        Assert.False((bool)result["success"]!);
        Assert.Equal("Failed to test webhook: The request timed out.", (string?)result["error_message"]);

        await CreateModelAsync();
        await HandleAsync(Assert.Single(await DrainAsync()));
        Assert.Equal(1, await QueuedIncludingDelayedAsync()); // no answer counts as a failure worth retrying
    }

    [Fact]
    public void TheRetryDelayGrows()
    {
        var delays = Enumerable.Range(1, 8).Select(WebhookDeliveries.RetryDelay).ToList();
        Assert.Equal(TimeSpan.FromSeconds(30), delays[0]);
        Assert.True(delays.Zip(delays.Skip(1)).All(p => p.Second >= p.First));
        Assert.True(delays[3] > delays[0] * 10);
        Assert.True(delays.Max() <= TimeSpan.FromDays(7)); // a queue message can be hidden at most seven days
    }

    [Fact]
    public async Task TestSendsTheEventsExamplePayloadSignedAndAnswersMlflowsResultShape()
    {
        var id = await WebhookAsync("/tested");
        var result = (await OkAsync(_app, HttpMethod.Post, $"{Api}webhooks/{id}/test", new { }))["result"]!;
        Assert.True((bool)result["success"]!);
        Assert.Equal(200, (int)result["response_status"]!);
        Assert.Equal("received", (string?)result["response_body"]);
        Assert.Null(result["error_message"]);
        var sent = JsonNode.Parse(Assert.Single(_receiver.All).Body)!;
        Assert.Equal("registered_model", (string?)sent["entity"]);
        Assert.Equal("example_model", (string?)sent["data"]!["name"]);
        Assert.StartsWith("v1,", _receiver.All[0].Headers["X-MLflow-Signature"]);

        // Another event than the first subscribed one, as the request names it.
        await OkAsync(_app, HttpMethod.Post, $"{Api}webhooks/{id}/test", new { @event = new { entity = "MODEL_VERSION_TAG", action = "SET" } });
        var second = JsonNode.Parse(_receiver.All[1].Body)!;
        Assert.Equal("model_version_tag.set", $"{second["entity"]}.{second["action"]}");
        Assert.Equal("example_value", (string?)second["data"]!["value"]);

        var failing = await WebhookAsync("/status/500");
        var failed = (await OkAsync(_app, HttpMethod.Post, $"{Api}webhooks/{failing}/test", new { }))["result"]!;
        Assert.False((bool)failed["success"]!);
        Assert.Equal(500, (int)failed["response_status"]!);
    }

    [Fact]
    public async Task ARedirectIsNotFollowed()
    {
        var id = await WebhookAsync("/redirect");
        var result = (await OkAsync(_app, HttpMethod.Post, $"{Api}webhooks/{id}/test", new { }))["result"]!;
        Assert.Equal(302, (int)result["response_status"]!);
        await CreateModelAsync();
        await HandleAsync(Assert.Single(await DrainAsync()));
        Assert.All(_receiver.All, r => Assert.Equal("/redirect", r.Path)); // never /after-redirect
        Assert.Equal(2, _receiver.All.Count);
        Assert.Equal(0, await QueuedIncludingDelayedAsync()); // a 3xx is an answer, not retried

        // To a private address: the answer is the 302 itself, not a refusal of a second hop that was never attempted.
        var toPrivate = await WebhookAsync("/redirect-private");
        var privateResult = (await OkAsync(_app, HttpMethod.Post, $"{Api}webhooks/{toPrivate}/test", new { }))["result"]!;
        Assert.Equal(302, (int)privateResult["response_status"]!);
        Assert.Null(privateResult["error_message"]);
    }

    [Fact]
    public async Task InNormalConfigurationLoopbackAndPrivateDestinationsAreRefusedAtConnectTime()
    {
        // The same tables and queue, without the test setting: as deployed.
        using var normal = new TrackerApp(azurite, _app.TablePrefix, new Dictionary<string, string> { ["Tracker:Storage:QueuePrefix"] = _queuePrefix });
        string[] urls =
        [
            _receiver.Url("/loopback"),
            $"http://localhost:{_receiver.Port}/by-name", // a host name that resolves to loopback
            $"http://[::ffff:127.0.0.1]:{_receiver.Port}/mapped",
            "http://10.0.0.1/private",
            "http://169.254.169.254/latest/meta-data/",
            "http://192.168.1.10:8080/private",
            "http://[fd00::1]/unique-local",
        ];
        foreach (var url in urls)
        {
            var id = await WebhookAsync(url, app: normal);
            var result = (await OkAsync(normal, HttpMethod.Post, $"{Api}webhooks/{id}/test", new { }))["result"]!;
            Assert.False((bool)result["success"]!, url);
            Assert.Null(result["response_status"]);
            Assert.Contains("Webhook delivery refused", (string?)result["error_message"], StringComparison.Ordinal);
        }
        Assert.Empty(_receiver.All);

        // A queued delivery to a refused destination is dropped, not retried.
        await DrainAsync();
        await OkAsync(normal, HttpMethod.Post, Api + "registered-models/create", new { name = "m-" + Guid.NewGuid().ToString("N") });
        var queued = await DrainAsync();
        Assert.Equal(urls.Length, queued.Count);
        foreach (var message in queued)
            await normal.Services.GetRequiredService<WebhookDeliveries>().HandleAsync(new QueueMessage(_queue.Name, message.ToJson(), 1, "m"), default);
        Assert.Empty(_receiver.All);
        Assert.Equal(0, await QueuedIncludingDelayedAsync());
    }
}
