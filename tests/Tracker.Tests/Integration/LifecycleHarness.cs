using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The lifecycle workers over Azurite with tables, a container and queues of their own (one harness per test class),
/// the blob requests they make recorded, and the lifecycle queue drained into <see cref="LifecycleService"/> as the
/// Lifecycle trigger would hand each message over.
/// </summary>
public sealed class LifecycleHarness
{
    public string Prefix { get; } = "l" + Guid.NewGuid().ToString("N")[..12];
    public TableServiceClient Tables { get; }
    public TrackingStore Tracking { get; }
    public RegistryStore Registry { get; }
    public BlobContainerClient Container { get; }
    /// <summary>Where the tracking store keeps its search snapshots.</summary>
    public BlobContainerClient Snapshots => new BlobServiceClient(_connectionString).GetBlobContainerClient(Prefix + "-snapshots");
    private readonly string _connectionString;
    public LifecycleQueue Queue { get; }
    public QueueClient RawQueue { get; }
    public LifecycleService Service { get; }
    public LifecycleOptions Options { get; }
    /// <summary>Every blob request the workers sent: method, blob name (container-relative, unescaped) and query.</summary>
    public ConcurrentQueue<(string Method, string Blob, string Query, IReadOnlyDictionary<string, string> Headers)> BlobRequests { get; } = new();

    public LifecycleHarness(AzuriteFixture azurite, LifecycleOptions options)
    {
        Options = options;
        _connectionString = azurite.ConnectionString;
        Tables = new TableServiceClient(azurite.ConnectionString);
        var storage = Microsoft.Extensions.Options.Options.Create(new StorageOptions
        {
            ConnectionString = azurite.ConnectionString, TablePrefix = Prefix, ArtifactsContainer = Prefix, QueuePrefix = Prefix + "-",
            SearchSnapshotsContainer = Prefix + "-snapshots",
        });
        var keys = new ServerKeys(Tables, storage, Microsoft.Extensions.Options.Options.Create(new AuthOptions()));
        Tracking = new TrackingStore(Tables, storage, keys, NullLogger<TrackingStore>.Instance, blobs: new BlobServiceClient(azurite.ConnectionString));
        Registry = new RegistryStore(Tables, storage, keys, NullLogger<RegistryStore>.Instance);
        var blobOptions = new BlobClientOptions();
        blobOptions.AddPolicy(new Recorder(this, Prefix), HttpPipelinePosition.PerCall);
        var blobs = new BlobServiceClient(azurite.ConnectionString, blobOptions);
        Container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(Prefix);
        Container.CreateIfNotExists();
        var queues = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        RawQueue = queues.GetQueueClient(storage.Value.QueueName(LifecycleQueue.QueueName));
        RawQueue.CreateIfNotExists();
        Queue = new LifecycleQueue(queues, storage, NullLogger<LifecycleQueue>.Instance);
        var opts = Microsoft.Extensions.Options.Options.Create(options);
        var lifecycleBlobs = new LifecycleBlobs(blobs, storage);
        var runPurge = new RunPurge(Tracking, Registry, lifecycleBlobs, Queue, opts, TimeProvider.System, NullLogger<RunPurge>.Instance);
        Service = new LifecycleService(
            runPurge,
            new ExperimentPurge(Tracking, Registry, runPurge, lifecycleBlobs, Queue, opts, NullLogger<ExperimentPurge>.Instance),
            new VersionTiering(Registry, lifecycleBlobs, Queue, opts, TimeProvider.System, NullLogger<VersionTiering>.Instance),
            new ArtifactExpiry(blobs, storage, Tracking, Registry, Queue, opts, NullLogger<ArtifactExpiry>.Instance),
            NullLogger<LifecycleService>.Instance);
    }

    public async Task UploadAsync(string blobName, string content = "x") =>
        await Container.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(content), overwrite: true);

    public async Task<List<string>> BlobsAsync(string prefix)
    {
        var names = new List<string>();
        await foreach (var blob in Container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, default)) names.Add(blob.Name);
        return names;
    }

    /// <summary>Hands every visible message to the service, one at a time, until the queue has none visible; returns
    /// the texts handled.</summary>
    public async Task<List<string>> DrainAsync(int maxMessages = 200)
    {
        var handled = new List<string>();
        while (handled.Count < maxMessages)
        {
            var received = (await RawQueue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1))).Value;
            if (received.Length == 0) return handled;
            var message = received[0];
            await Service.HandleAsync(new QueueMessage(LifecycleQueue.QueueName, message.MessageText, message.DequeueCount, message.MessageId), default);
            await RawQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            handled.Add(message.MessageText);
        }
        throw new InvalidOperationException($"More than {maxMessages} lifecycle messages: a chain that does not end?");
    }

    /// <summary>Messages in the queue, visible or not (delayed follow-ups included).</summary>
    public async Task<int> QueuedAsync() => (await RawQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    public Task HandleAsync(string text) => Service.HandleAsync(new QueueMessage(LifecycleQueue.QueueName, text, 1, "test"), default);

    public async Task<List<TableEntity>> RowsAsync(string table, string filter)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Tables.GetTableClient(Prefix + table).QueryAsync<TableEntity>(filter)) rows.Add(row);
        return rows;
    }

    private sealed class Recorder(LifecycleHarness harness, string container) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message)
        {
            var path = Uri.UnescapeDataString(message.Request.Uri.Path);
            var at = path.IndexOf("/" + container + "/", StringComparison.Ordinal);
            var blob = at < 0 ? "" : path[(at + container.Length + 2)..];
            var headers = message.Request.Headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
            harness.BlobRequests.Enqueue((message.Request.Method.ToString(), blob, message.Request.Uri.Query, headers));
        }
    }
}
