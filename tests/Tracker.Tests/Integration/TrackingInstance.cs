using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// One tracking store over the shared Azurite with tables of its own (or another instance's, by prefix), wired as
/// AddTrackerStorage wires it (storage's clock and the request counter in the table client's pipeline), its time
/// provider chosen by the test, and every table request it sends recorded.
/// </summary>
internal sealed class TrackingInstance
{
    public TrackingInstance(
        AzuriteFixture azurite, string? prefix = null, TimeProvider? time = null, int historyRowsPerCompaction = 64,
        HttpPipelinePolicy? policy = null)
    {
        Prefix = prefix ?? "w" + Guid.NewGuid().ToString("N")[..12];
        Time = time ?? TimeProvider.System;
        Clock = new StorageClock(Time);
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(Clock, HttpPipelinePosition.PerRetry);
        clientOptions.AddPolicy(new StorageRequestCounter(), HttpPipelinePosition.PerRetry);
        clientOptions.AddPolicy(new Recorder(Requests), HttpPipelinePosition.PerRetry);
        clientOptions.AddPolicy(new KeysOnlyQueries(), HttpPipelinePosition.PerCall);
        if (policy is not null) clientOptions.AddPolicy(policy, HttpPipelinePosition.PerRetry);
        Tables = new TableServiceClient(azurite.ConnectionString, clientOptions);
        Raw = new TableServiceClient(azurite.ConnectionString);
        var storage = Options.Create(new StorageOptions
        {
            ConnectionString = azurite.ConnectionString, TablePrefix = Prefix, HistoryRowsPerCompaction = historyRowsPerCompaction,
        });
        Store = new TrackingStore(Tables, storage, new ServerKeys(Tables, storage, Options.Create(new AuthOptions())),
            NullLogger<TrackingStore>.Instance, Clock, Time);
    }

    public string Prefix { get; }
    public TimeProvider Time { get; }
    public StorageClock Clock { get; }
    public TableServiceClient Tables { get; }
    /// <summary>A client of the same account outside the store's pipeline (nothing recorded or counted).</summary>
    public TableServiceClient Raw { get; }
    public TrackingStore Store { get; }
    /// <summary>Method and path (table name and keys) of every request the store sent.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public TableClient Table(string name) => Raw.GetTableClient(Prefix + name);

    public async Task<List<TableEntity>> RowsAsync(string table, string filter)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Table(table).QueryAsync<TableEntity>(filter)) rows.Add(row);
        return rows;
    }

    /// <summary>The row keys of one partition of the runs table that start with <paramref name="prefix"/>.</summary>
    public async Task<List<string>> RunsTableKeysAsync(string experimentId, string prefix) =>
        (await RowsAsync("runs", TableClient.CreateQueryFilter($"PartitionKey eq {experimentId} and RowKey ge {prefix}")))
        .Select(r => r.RowKey).Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    /// <summary>The experiment's change rows, parsed, in key order; Key is the row's identity (its key and the write
    /// that set it last), which a later write of the row changes.</summary>
    public async Task<List<(DateTimeOffset At, string RunId, string Key)>> ChangesAsync(string experimentId) =>
        (await RowsAsync("runs", TableClient.CreateQueryFilter($"PartitionKey eq {experimentId} and RowKey ge {ChangeFeed.RowPrefix} and RowKey lt {ChangeFeed.End}")))
        .Select(ChangeFeed.Identity)
        .Select(key => ChangeFeed.Parse(key) is var (at, runId) ? (at, runId, key) : throw new InvalidDataException($"Not a change row: {key}"))
        .ToList();

    /// <summary>Storage requests made by <paramref name="work"/>.</summary>
    public static async Task<int> CountRequestsAsync(Func<Task> work)
    {
        var counter = StorageRequestCounter.Begin();
        await work();
        return counter.Count;
    }

    private sealed class Recorder(ConcurrentQueue<string> requests) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) =>
            requests.Enqueue($"{message.Request.Method} {Uri.UnescapeDataString(message.Request.Uri.Path)}");
    }
}
