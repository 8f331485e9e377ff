using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Lifecycle;
using Tracker.Core.Promotions;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The producers of lifecycle messages, over HTTP with no poller consuming (so the queue shows what was sent):
/// runs/delete, experiments/delete, transition-stage (with the versions archive_existing_versions archived) and an
/// applied promotion each queue their message after the write; restores and writes that change no stage queue nothing.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LifecycleProducerTests : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private readonly string _queuePrefix = "p" + Guid.NewGuid().ToString("N")[..10] + "-";
    private readonly TrackerApp _app;
    private readonly QueueServiceClient _queues;

    public LifecycleProducerTests(AzuriteFixture azurite)
    {
        _app = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["Tracker:Storage:QueuePrefix"] = _queuePrefix });
        _queues = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
    }

    public void Dispose() => _app.Dispose();

    private static async Task<JsonNode> OkAsync(Task<(int Status, JsonNode? Body)> call)
    {
        var (status, body) = await call;
        Assert.True(status == 200, $"{status} {body}");
        return body ?? new JsonObject();
    }

    /// <summary>Takes every message now in the lifecycle queue.</summary>
    private async Task<List<LifecycleMessage>> TakeAsync()
    {
        var queue = _queues.GetQueueClient(_queuePrefix + LifecycleQueue.QueueName);
        await queue.CreateIfNotExistsAsync();
        var messages = new List<LifecycleMessage>();
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32)).Value;
            if (batch.Length == 0) return messages;
            foreach (var message in batch)
            {
                messages.Add(LifecycleMessage.Parse(message.MessageText) ?? throw new InvalidOperationException(message.MessageText));
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }
    }

    private async Task<(string ExperimentId, string RunId)> RunAsync()
    {
        var experimentId = (string)(await OkAsync(_app.PostAsync(Api + "experiments/create", new { name = "producer-" + Guid.NewGuid().ToString("N") })))["experiment_id"]!;
        var runId = (string)(await OkAsync(_app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1 })))["run"]!["info"]!["run_id"]!;
        return (experimentId, runId);
    }

    [Fact]
    public async Task DeletesQueueTheirPurgeAndRestoresQueueNothing()
    {
        var (experimentId, runId) = await RunAsync();

        await OkAsync(_app.PostAsync(Api + "runs/delete", new { run_id = runId }));
        await OkAsync(_app.PostAsync(Api + "runs/restore", new { run_id = runId }));
        await OkAsync(_app.PostAsync(Api + "experiments/delete", new { experiment_id = experimentId }));
        await OkAsync(_app.PostAsync(Api + "experiments/restore", new { experiment_id = experimentId }));

        var messages = await TakeAsync();
        Assert.Equal(2, messages.Count);
        Assert.Equal((LifecycleMessage.RunDeleted, runId), (messages[0].Kind, messages[0].RunId));
        Assert.Equal((LifecycleMessage.ExperimentDeleted, experimentId), (messages[1].Kind, messages[1].ExperimentId));
        Assert.All(messages, m => Assert.Null(m.Continuation));
    }

    [Fact]
    public async Task ATransitionQueuesEveryVersionWhoseStageChanged()
    {
        var (_, runId) = await RunAsync();
        var model = "producer-" + Guid.NewGuid().ToString("N")[..8];
        await OkAsync(_app.PostAsync(Api + "registered-models/create", new { name = model }));
        for (var i = 0; i < 3; i++)
            await OkAsync(_app.PostAsync(Api + "model-versions/create", new { name = model, source = $"runs:/{runId}/model", run_id = runId }));
        await OkAsync(_app.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "1", stage = "Production", archive_existing_versions = false }));
        await OkAsync(_app.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "2", stage = "Production", archive_existing_versions = false }));
        await TakeAsync();

        // Version 3 into Production archives 1 and 2; then 3 into Production again changes no stage.
        await OkAsync(_app.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "3", stage = "Production", archive_existing_versions = true }));
        var messages = await TakeAsync();
        Assert.All(messages, m => Assert.Equal((LifecycleMessage.VersionStageChanged, model), (m.Kind, m.Name)));
        Assert.Equal([1L, 2L, 3L], messages.Select(m => m.Version!.Value).Order());

        await OkAsync(_app.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "3", stage = "Production", archive_existing_versions = false }));
        Assert.Empty(await TakeAsync());
    }

    [Fact]
    public async Task AnAppliedPromotionQueuesTheVersionsWhoseStageChanged()
    {
        var (_, runId) = await RunAsync();
        await OkAsync(_app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = "val_loss", value = 0.3, timestamp = 1, step = 0 }));
        var model = "producer-" + Guid.NewGuid().ToString("N")[..8];
        await OkAsync(_app.PostAsync(Api + "registered-models/create", new { name = model }));
        for (var i = 0; i < 2; i++)
            await OkAsync(_app.PostAsync(Api + "model-versions/create", new { name = model, source = $"runs:/{runId}/model", run_id = runId }));
        await OkAsync(_app.PostAsync(Api + "model-versions/transition-stage", new { name = model, version = "1", stage = "Production", archive_existing_versions = false }));
        await TakeAsync();

        var (status, created) = await _app.PostAsync("/api/2.0/tracker/promotions/create", new { name = model, version = "2", target = new { stage = "Production" } });
        Assert.Equal(202, status);
        // Delivered by hand, as the PromoteModel trigger would.
        var promotions = _queues.GetQueueClient(_queuePrefix + PromotionService.QueueName);
        var delivery = Assert.Single((await promotions.ReceiveMessagesAsync(1)).Value);
        await _app.Services.GetRequiredService<PromotionService>().ProcessAsync(
            new Core.Storage.QueueMessage(PromotionService.QueueName, delivery.MessageText, 1, delivery.MessageId), default);
        Assert.Equal("succeeded", (string?)(await OkAsync(_app.GetAsync($"/api/2.0/tracker/promotions/get?id={created!["promotion"]!["id"]}")))["promotion"]!["status"]);

        var messages = await TakeAsync();
        Assert.All(messages, m => Assert.Equal((LifecycleMessage.VersionStageChanged, model), (m.Kind, m.Name)));
        Assert.Equal([1L, 2L], messages.Select(m => m.Version!.Value).Order());
    }
}
