using Azure.Storage.Queues;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Storage;
using Tracker.Functions.Triggers;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Triggers;

/// <summary>
/// Local mode against Azurite: the poller delivers what a producer enqueues (base64, as the host expects), retries a
/// failing handler with a rising DequeueCount, and after MaxDequeueCount moves the message to the poison queue, whose
/// own handler then receives it. Each test has queues of its own (a unique QueuePrefix).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LocalQueuePollerTests(AzuriteFixture azurite)
{
    private const int MaxDequeueCount = 3;

    private sealed record Poller(TrackerApp App, QueueServiceClient Queues, string Prefix) : IAsyncDisposable
    {
        public QueueClient Queue(string name) => Queues.GetQueueClient(Prefix + name);
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    private async Task<Poller> StartAsync(IQueueHandler promote, IQueueHandler? poison = null)
    {
        var prefix = "q" + Guid.NewGuid().ToString("N")[..10] + "-";
        var app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:QueuePrefix"] = prefix,
            ["Tracker:Triggers:LocalPolling"] = "true",
            ["Tracker:Triggers:MaxDequeueCount"] = MaxDequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Tracker:Triggers:VisibilityTimeout"] = "00:00:00",
            ["Tracker:Triggers:MaxPollingInterval"] = "00:00:00.200",
        });
        var configured = app.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.AddKeyedSingleton(PromoteModelTrigger.Queue, promote);
            if (poison is not null) services.AddKeyedSingleton(PromoteModelPoisonTrigger.Queue, poison);
        }));
        _ = configured.Services; // starts the host, and with it the poller
        var queues = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queues.GetQueueClient(prefix + PromoteModelTrigger.Queue).CreateIfNotExistsAsync();
        return new Poller(app, queues, prefix) { };
    }

    [Fact]
    public async Task AnEnqueuedMessageIsDeliveredOnceAndDeleted()
    {
        var handler = new RecordingQueueHandler();
        await using var poller = await StartAsync(handler);

        var sent = await poller.Queue(PromoteModelTrigger.Queue).SendMessageAsync("""{"promotion":"p1"}""");
        await handler.WaitForAsync(1);

        var delivered = Assert.Single(handler.Deliveries);
        Assert.Equal(new QueueMessage("model-promotions", """{"promotion":"p1"}""", 1, sent.Value.MessageId), delivered);
        await WaitUntilAsync(async () => (await poller.Queue(PromoteModelTrigger.Queue).GetPropertiesAsync()).Value.ApproximateMessagesCount == 0);
    }

    [Fact]
    public async Task AFailingHandlerIsRetriedWithTheDequeueCountRising()
    {
        var handler = new RecordingQueueHandler { FailuresBeforeSuccess = MaxDequeueCount - 1 };
        var poison = new RecordingQueueHandler();
        await using var poller = await StartAsync(handler, poison);

        await poller.Queue(PromoteModelTrigger.Queue).SendMessageAsync("""{"promotion":"p2"}""");
        await handler.WaitForAsync(MaxDequeueCount);
        await WaitUntilAsync(async () => (await poller.Queue(PromoteModelTrigger.Queue).GetPropertiesAsync()).Value.ApproximateMessagesCount == 0);

        Assert.Equal([1L, 2L, 3L], handler.Deliveries.Select(d => d.DequeueCount));
        // Succeeded on the last allowed delivery: nothing was poisoned (the poison queue's poller created it, empty).
        Assert.Equal(0, (await poller.Queue(PromoteModelTrigger.Queue + "-poison").GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Empty(poison.Deliveries);
    }

    [Fact]
    public async Task AMessageFailingMaxDequeueCountTimesMovesToThePoisonQueueAndItsHandler()
    {
        var handler = new RecordingQueueHandler { FailuresBeforeSuccess = int.MaxValue };
        var poison = new RecordingQueueHandler();
        await using var poller = await StartAsync(handler, poison);

        await poller.Queue(PromoteModelTrigger.Queue).SendMessageAsync("""{"promotion":"p3"}""");
        await poison.WaitForAsync(1);

        Assert.Equal(MaxDequeueCount, handler.Deliveries.Count);
        var poisoned = Assert.Single(poison.Deliveries);
        Assert.Equal(("model-promotions-poison", """{"promotion":"p3"}""", 1L), (poisoned.Queue, poisoned.Text, poisoned.DequeueCount));
        await WaitUntilAsync(async () => (await poller.Queue(PromoteModelTrigger.Queue).GetPropertiesAsync()).Value.ApproximateMessagesCount == 0);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition()) await Task.Delay(50, timeout.Token);
    }
}
