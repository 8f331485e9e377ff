using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Lifecycle;

/// <summary>
/// The cleanup timer's summary rows, in a table of their own, <c>{prefix}cleanup</c>: one partition, one row per run
/// keyed by an id that starts with the inverted start time, so a range scan answers newest first and a page reads only
/// as far as it reaches. One row a day (the default schedule) stays small for years.
/// </summary>
public sealed class CleanupStore
{
    private const string Partition = "c";
    private readonly TableClient _table;
    private readonly ServerKeys _keys;
    private readonly TimeSpan _requestTimeout;
    private readonly OnceUntilSuccess _initialized;

    public CleanupStore(TableServiceClient tables, IOptions<StorageOptions> options, ServerKeys keys)
    {
        _table = tables.GetTableClient(options.Value.TablePrefix + "cleanup");
        _keys = keys;
        _requestTimeout = options.Value.RequestTimeout;
        _initialized = CreateTablesOnce([_table]);
    }

    /// <summary>13 digits of inverted milliseconds, then 8 random hex digits (two runs in one millisecond stay apart).</summary>
    public static string NewId(long nowMillis) =>
        TableKeys.NewestFirst(nowMillis, 4);

    /// <summary>Writes the run's row, replacing what an earlier write of the same run left.</summary>
    public Task SaveAsync(CleanupRun run, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await _initialized.RunAsync().WaitAsync(ct);
            var entity = new TableEntity(Partition, run.Id);
            DocumentColumns.Write(entity, JsonSerializer.SerializeToUtf8Bytes(run, CleanupJson.Default.CleanupRun));
            await StorageErrors.Call(() => _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, ct));
        }, ct);

    /// <summary>The runs, newest first, <paramref name="maxResults"/> a page, with a signed page token.</summary>
    public Task<Page<CleanupRun>> ListAsync(int maxResults, string? pageToken, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var query = PageQuery.Of("cleanup/runs");
            var offset = (await ReadPageTokenAsync(_keys, pageToken, query, ct)).Offset;
            await _initialized.RunAsync().WaitAsync(ct);
            var items = new List<CleanupRun>();
            var seen = 0;
            // Rows come in key order (newest first); reading stops one row past the page, which says whether there is more.
            await foreach (var row in _table.QueryAsync<TableEntity>(Filter($"PartitionKey eq {Partition}"), cancellationToken: ct).WithTransientErrors())
            {
                if (seen++ < offset) continue;
                if (items.Count == maxResults) break;
                items.Add(JsonSerializer.Deserialize(DocumentColumns.Read(row), CleanupJson.Default.CleanupRun)
                          ?? throw new InvalidDataException("Stored cleanup run is null."));
            }
            return new Page<CleanupRun>(items, await NextPageTokenAsync(_keys, offset, maxResults, seen, query, ct));
        }, ct);
}

[JsonSerializable(typeof(CleanupRun))]
internal sealed partial class CleanupJson : JsonSerializerContext;
