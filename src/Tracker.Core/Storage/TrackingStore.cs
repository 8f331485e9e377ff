using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;

namespace Tracker.Core.Storage;

/// <summary>
/// MLflow's tracking store over Azure Table Storage (the counterpart of mlflow/store/tracking/sqlalchemy_store.py).
///
/// Layout, chosen so the hot paths cost one storage request:
/// <list type="bullet">
/// <item>table <c>{prefix}experiments</c>, one partition: <c>e:{id}</c> experiment rows, <c>n:{sha256(name)}</c>
/// unique-name rows, <c>counter</c> for id allocation. Creating or renaming is one entity-group transaction.</item>
/// <item>table <c>{prefix}runs</c>, partition = experiment id, so everything one write of a run touches is one
/// entity-group transaction:
///   <c>r:{runId}</c> one row per run holding params, tags, latest metrics and inputs as one document, so a search reads
///   an experiment with range queries, never per run; small batches' points wait in it (<see cref="PointBuffer"/>).
///   Writes are read-modify-write under the row's ETag (the read usually saved by a cache, retried by
///   <see cref="TableStorage.OptimisticAsync{T}"/>): writers in one instance take turns, each turn committing every
///   write that queued meanwhile as one transaction (<see cref="RunWriteQueue{TChange,TResult}"/>); writers in different
///   instances retry on 412, so nothing is lost.
///   <c>c:{storage time}:{runId}:…</c> the change feed, a row per run-row write (<see cref="ChangeFeed"/>).
///   <c>h:{runId}:u:…</c> and <c>h:{runId}:c:…</c> metric history rows (<see cref="MetricPoints"/>).
///   <c>s:{runId}:…</c> a document too large for its run row.</item>
/// <item>table <c>{prefix}metrics</c>, partition = run id: metric history of runs created before it moved into the runs
/// table, still read, compacted and purged (see TrackingStore.History).</item>
/// <item>table <c>{prefix}loggedmodels</c>, partition = experiment id: MLflow 3 logged models.</item>
/// </list>
/// The code is split by what it handles: TrackingStore.Runs (run rows: create, read, the read-modify-write, lifecycle),
/// .Metrics (log-batch, history and bulk-interval answers), .History (where history rows live: layout, compaction,
/// reads, migration), .ChangeFeed (committing a run row with its change row), .RunSpill, .Search, .Purge, .Experiments,
/// .LoggedModels.
/// </summary>
public sealed partial class TrackingStore
{
    private const int MaxConflictRetries = 50;

    private readonly TableClient _experiments;
    private readonly TableClient _runs;
    private readonly TableClient _metrics;
    private readonly TableClient _loggedModels;
    private readonly ILogger<TrackingStore> _logger;
    private readonly ServerKeys _keys;
    private readonly StorageClock _clock;
    private readonly TimeProvider _time;
    private readonly int _historyRowsPerCompaction;
    private readonly TimeSpan _requestTimeout;  // each call's budget (TableStorage.WithinBudget)
    private readonly RunWriteQueue<Func<RunDocument, RunChange>, RunDocument> _runWrites = new();
    private readonly OnceUntilSuccess _initialized;
    // Last known run rows, used only as the optimistic base of a write: the ETag check makes a stale entry harmless.
    private readonly MemoryCache _runRowCache = new(new MemoryCacheOptions { SizeLimit = 64L * 1024 * 1024 });
    // Metric histories being paged through, by snapshot id (see GetMetricHistoryAsync).
    private readonly MemoryCache _historySnapshots = new(new MemoryCacheOptions { SizeLimit = 128L * 1024 * 1024 });
    // Whole metric histories by run and key, valid while the run row's ETag is unchanged (see ReadHistoryAsync).
    private readonly MemoryCache _historyReads = new(new MemoryCacheOptions { SizeLimit = 32L * 1024 * 1024 });

    /// <param name="clock">Storage's time, learnt from the answers of <paramref name="tables"/> (its pipeline must hold it);
    /// without one the local clock stands in (tests on one machine).</param>
    /// <param name="blobs">Where search snapshots are kept (TrackingStore.RunCatalog); without it every instance's first
    /// search of an experiment scans its run rows.</param>
    public TrackingStore(
        TableServiceClient tables, IOptions<StorageOptions> options, ServerKeys keys, ILogger<TrackingStore> logger,
        StorageClock? clock = null, TimeProvider? time = null, BlobServiceClient? blobs = null)
    {
        _keys = keys;
        _time = time ?? TimeProvider.System;
        _clock = clock ?? new StorageClock(_time);
        _experiments = tables.GetTableClient(options.Value.TablePrefix + "experiments");
        _runs = tables.GetTableClient(options.Value.TablePrefix + "runs");
        _metrics = tables.GetTableClient(options.Value.TablePrefix + "metrics");
        _loggedModels = tables.GetTableClient(options.Value.TablePrefix + "loggedmodels");
        _logger = logger;
        _historyRowsPerCompaction = options.Value.HistoryRowsPerCompaction;
        _requestTimeout = options.Value.RequestTimeout;
        _views = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.SearchCacheMegabytes * 1024L * 1024 });
        _snapshots = blobs?.GetBlobContainerClient(options.Value.SearchSnapshotsContainer);
        _snapshotPrefix = options.Value.TablePrefix + "/";
        _initialized = TableStorage.CreateTablesOnce([_experiments, _runs, _metrics, _loggedModels], CreateDefaultExperimentAsync);
    }

    /// <summary>Creates the tables and the Default experiment on first use (never before Kestrel listens): before every
    /// write, every listing of experiments and every read of Default (which must find it). Reads of other experiments,
    /// of runs and searches do not wait for it: a table not created yet holds none of them, and a cold instance's first
    /// search reads its snapshot and the feed straight away. A caller stops waiting when its budget runs out; the shared
    /// set-up goes on, bounded by the SDK's own timeouts.</summary>
    private Task EnsureInitializedAsync(CancellationToken ct) => _initialized.RunAsync().WaitAsync(ct);

    /// <summary>One cheap point read (the id counter, keys only) that tells whether storage answers at all. A
    /// missing table still counts as answering: the tables are created before the first write, never by a probe.</summary>
    internal async Task ProbeAsync(CancellationToken ct)
    {
        try
        {
            await _experiments.GetEntityIfExistsAsync<TableEntity>(ExperimentPartition, CounterRow, select: ["PartitionKey"], cancellationToken: ct);
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.NotFound)
        {
        }
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static T Deserialize<T>(byte[] json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(json, type) ?? throw new InvalidDataException("Stored document is null.");
}
