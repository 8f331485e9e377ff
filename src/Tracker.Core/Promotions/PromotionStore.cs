using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Promotions;

/// <summary>
/// Promotions over their own table, <c>{prefix}promotions</c>: one partition, one row per promotion keyed by its id.
/// An id starts with the inverted creation time, so a range scan answers newest first; search by model filters on the
/// <c>Model</c> column (the canonical name at request time). Promotions are rare (one per CI release), so one partition
/// and a filtered scan are enough; a per-model index row is the step up if a model ever collects tens of thousands.
/// Every state change is a replace under the ETag read, the guard of the consumer's state machine.
/// </summary>
public sealed class PromotionStore
{
    private const string Partition = "p";
    private const string ModelColumn = "Model";
    private readonly TableClient _table;
    private readonly ServerKeys _keys;
    private readonly TimeSpan _requestTimeout;
    private readonly OnceUntilSuccess _initialized;

    public PromotionStore(TableServiceClient tables, IOptions<StorageOptions> options, ServerKeys keys)
    {
        _table = tables.GetTableClient(options.Value.TablePrefix + "promotions");
        _keys = keys;
        _requestTimeout = options.Value.RequestTimeout;
        _initialized = CreateTablesOnce([_table]);
    }

    private Task EnsureInitializedAsync(CancellationToken ct) => _initialized.RunAsync().WaitAsync(ct);

    /// <summary>13 digits of inverted milliseconds, then 16 random hex digits: unguessable, sorted newest first.</summary>
    public static string NewId(long nowMillis) =>
        TableKeys.NewestFirst(nowMillis, 8);

    /// <summary>Whether <paramref name="id"/> has the shape of an id Tracker issues (anything else is not looked up).</summary>
    public static bool IsWellFormedId(string? id) =>
        id is { Length: 29 } && id.AsSpan(0, 13).ContainsAnyExceptInRange('0', '9') is false &&
        id.AsSpan(13).IndexOfAnyExcept("0123456789abcdef") < 0;

    public Task AddAsync(Promotion promotion, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            await StorageErrors.Call(() => _table.AddEntityAsync(ToEntity(promotion), ct));
        }, ct);

    /// <summary>The promotion and the ETag to change it under; null for an unknown or malformed id.</summary>
    public Task<(Promotion Promotion, ETag ETag)?> GetAsync(string? id, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (!IsWellFormedId(id)) return ((Promotion, ETag)?)null;
            await EnsureInitializedAsync(ct);
            var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, id!, cancellationToken: ct));
            return row.HasValue ? (FromEntity(row.Value!), row.Value!.ETag) : null;
        }, ct);

    /// <summary>Replaces the promotion if it is unchanged since <paramref name="etag"/>: its new ETag, or null when
    /// another writer got there first.</summary>
    public Task<ETag?> TryReplaceAsync(Promotion promotion, ETag etag, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            try
            {
                var response = await StorageErrors.Call(() => _table.UpdateEntityAsync(ToEntity(promotion), etag, TableUpdateMode.Replace, ct));
                return (ETag?)response.Headers.ETag;
            }
            catch (RequestFailedException e) when (e.Status == StorageErrors.PreconditionFailed)
            {
                return null;
            }
        }, ct);

    /// <summary>The model's promotions, newest first, <paramref name="maxResults"/> a page, with a signed page token.</summary>
    public Task<Tracking.Page<Promotion>> SearchAsync(string canonicalName, int maxResults, string? pageToken, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var query = PageQuery.Of("promotions/search", [canonicalName], [maxResults.ToString(CultureInfo.InvariantCulture)]);
            var start = await ReadPageTokenAsync(_keys, pageToken, query, ct);
            await EnsureInitializedAsync(ct);
            var filter = Filter($"PartitionKey eq {Partition} and Model eq {canonicalName}"); // Model: ModelColumn (a column name is no value)
            var all = new List<Promotion>();
            await foreach (var row in _table.QueryAsync<TableEntity>(filter, cancellationToken: ct).WithTransientErrors())
                all.Add(FromEntity(row));
            var items = all.Skip(start.Offset).Take(maxResults).ToList();
            return new Tracking.Page<Promotion>(items, await NextPageTokenAsync(_keys, start.Offset, maxResults, all.Count, query, ct));
        }, ct);

    private static TableEntity ToEntity(Promotion p)
    {
        var entity = new TableEntity(Partition, p.Id) { [ModelColumn] = p.Name };
        DocumentColumns.Write(entity, JsonSerializer.SerializeToUtf8Bytes(p, PromotionJson.Default.Promotion));
        return entity;
    }

    private static Promotion FromEntity(TableEntity e) =>
        JsonSerializer.Deserialize(DocumentColumns.Read(e), PromotionJson.Default.Promotion) ?? throw new InvalidDataException("Stored promotion is null.");
}

[JsonSerializable(typeof(Promotion))]
internal sealed partial class PromotionJson : JsonSerializerContext;
