using System.Net;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Tracker.Core.Webhooks;
using Tracker.Tests.Infrastructure;
using Tracker.Tests.Integration;

namespace Tracker.Tests.Webhooks;

/// <summary>A registry write whose webhook deliveries cannot be queued is still acknowledged: the failure is only logged.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class WebhookPublishFailureTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AnUnreachableDeliveryQueueNeverFailsTheWrite()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var deadPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there any more: every queue call is refused
        var deadQueue = new QueueClient(new Uri($"http://127.0.0.1:{deadPort}/devstoreaccount1/webhook-deliveries"),
            new QueueClientOptions { Retry = { MaxRetries = 0 }, MessageEncoding = QueueMessageEncoding.Base64 });
        using var tracker = new TrackerApp(azurite);
        using var app = tracker.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton(sp =>
            new WebhookPublisher(sp.GetRequiredService<WebhookStore>(), deadQueue, TimeProvider.System, NullLogger<WebhookPublisher>.Instance))));
        using var client = app.CreateClient();

        using var hook = await client.PostAsync("/api/2.0/mlflow/webhooks", ArtifactClient.Json(new
        {
            name = "unreachable-queue", url = "https://192.0.2.1/h", events = new[] { new { entity = "REGISTERED_MODEL", action = "CREATED" } },
        }));
        Assert.Equal(HttpStatusCode.OK, hook.StatusCode);
        var model = "m-" + Guid.NewGuid().ToString("N");
        using var created = await client.PostAsync("/api/2.0/mlflow/registered-models/create", ArtifactClient.Json(new { name = model }));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        using var read = await client.GetAsync($"/api/2.0/mlflow/registered-models/get?name={model}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }
}
