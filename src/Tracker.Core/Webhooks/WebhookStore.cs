using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Tracker.Core.Storage;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Webhooks;

/// <summary>
/// Webhooks in their own table (<c>{prefix}webhooks</c>), one partition, one row per webhook keyed by its id.
/// Webhooks are few (an admin's configuration, not data), so listing is one partition read; the publisher reads it at
/// most once per <see cref="WebhookPublisher.SubscriberRefresh"/> per instance, never once per registry write. The secret
/// column holds the sealed secret (<see cref="WebhookSecrets"/>) and is read only by <see cref="GetSecretAsync"/>.
/// </summary>
public sealed class WebhookStore
{
    private const string Partition = "w";
    private const int MaxRaces = 5;
    private static readonly string[] PublicColumns = ["RowKey", "Name", "Description", "Url", "Events", "Status", "ModelName", "Created", "Updated"];

    private readonly TableClient _table;
    private readonly WebhookSecrets _secrets;
    private readonly TimeSpan _requestTimeout;
    private readonly OnceUntilSuccess _initialized;

    public WebhookStore(TableServiceClient tables, IOptions<StorageOptions> options, WebhookSecrets secrets)
    {
        _table = tables.GetTableClient(options.Value.TablePrefix + "webhooks");
        _secrets = secrets;
        _requestTimeout = options.Value.RequestTimeout;
        _initialized = CreateTablesOnce([_table]);
    }

    private Task EnsureInitializedAsync(CancellationToken ct) => _initialized.RunAsync().WaitAsync(ct);

    /// <summary>32 random hex digits, like MLflow's uuid4 hex ids: unguessable.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsWellFormedId(string? id) => id is { Length: 32 } && id.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;

    public static MlflowException NotFound(string? id) => MlflowException.NotFound($"Webhook with ID {Echo.Truncate(id)} not found");

    public Task AddAsync(Webhook webhook, string? secret, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            var entity = ToEntity(webhook);
            if (!string.IsNullOrEmpty(secret)) entity["Secret"] = await _secrets.EncryptAsync(webhook.WebhookId, secret, ct);
            await StorageErrors.Call(() => _table.AddEntityAsync(entity, ct));
        }, ct);

    /// <summary>The webhook, or null for an unknown or malformed id.</summary>
    public Task<Webhook?> GetAsync(string? id, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (!IsWellFormedId(id)) return null;
            await EnsureInitializedAsync(ct);
            var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, id!, PublicColumns, ct));
            return row.HasValue ? FromEntity(row.Value!) : null;
        }, ct);

    /// <summary>The webhook with its secret in clear (null when it has none): for signing a delivery, nothing else.</summary>
    public Task<(Webhook Webhook, string? Secret)?> GetSecretAsync(string? id, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (!IsWellFormedId(id)) return ((Webhook, string?)?)null;
            await EnsureInitializedAsync(ct);
            var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, id!, cancellationToken: ct));
            if (!row.HasValue) return null;
            var sealedSecret = row.Value!.GetString("Secret");
            var secret = string.IsNullOrEmpty(sealedSecret) ? null : await OpenAsync(id!, sealedSecret, ct);
            return (FromEntity(row.Value), secret);
        }, ct);

    /// <summary>The secret, or INVALID_STATE when it no longer opens (the server key changed, or the row was tampered with):
    /// never sent unsigned, and an update setting the secret again repairs it.</summary>
    private async Task<string> OpenAsync(string id, string sealedSecret, CancellationToken ct)
    {
        try
        {
            return await _secrets.DecryptAsync(id, sealedSecret, ct);
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            throw new MlflowException(ErrorCode.InvalidState,
                $"The secret of webhook {id} cannot be decrypted (was the server key changed?); set it again with an update.", e);
        }
    }

    /// <summary>Every webhook, oldest first (one partition read).</summary>
    public Task<IReadOnlyList<Webhook>> ListAsync(CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            var all = new List<Webhook>();
            await foreach (var row in _table.QueryAsync<TableEntity>(Filter($"PartitionKey eq {Partition}"), select: PublicColumns, cancellationToken: ct)
                               .WithTransientErrors())
                all.Add(FromEntity(row));
            return (IReadOnlyList<Webhook>)all.OrderBy(w => w.CreationTimestamp).ThenBy(w => w.WebhookId, StringComparer.Ordinal).ToList();
        }, ct);

    /// <summary>
    /// Read, change with <paramref name="change"/> (which also says what becomes of the secret: null keeps it, "" removes
    /// it, anything else replaces it), write under the ETag read; retried on a lost race. Null for an unknown id.
    /// </summary>
    public Task<Webhook?> UpdateAsync(string id, Func<Webhook, (Webhook Updated, string? Secret)> change, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (!IsWellFormedId(id)) return null;
            await EnsureInitializedAsync(ct);
            return await OptimisticAsync("the webhook", MaxRaces, async _ =>
            {
                var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, id, cancellationToken: ct));
                if (!row.HasValue) return null;
                var (updated, secret) = change(FromEntity(row.Value!));
                var entity = ToEntity(updated);
                entity["Secret"] = secret switch
                {
                    null => row.Value!.GetString("Secret"),
                    "" => null,
                    _ => await _secrets.EncryptAsync(id, secret, ct),
                };
                await StorageErrors.Call(() => _table.UpdateEntityAsync(entity, row.Value!.ETag, TableUpdateMode.Replace, ct));
                return updated;
            }, ct);
        }, ct);

    /// <summary>Whether a webhook was there to delete.</summary>
    public Task<bool> DeleteAsync(string id, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            if (!IsWellFormedId(id)) return false;
            await EnsureInitializedAsync(ct);
            // The SDK answers a missing entity's 404 as a response, not an exception.
            var response = await StorageErrors.Call(() => _table.DeleteEntityAsync(Partition, id, ETag.All, ct));
            return response.Status != StorageErrors.NotFound;
        }, ct);

    private static TableEntity ToEntity(Webhook w) => new(Partition, w.WebhookId)
    {
        ["Name"] = w.Name,
        ["Description"] = w.Description,
        ["Url"] = w.Url,
        ["Events"] = JsonSerializer.Serialize(w.Events.Select(e => e.ToString()).ToArray(), WebhookJson.Default.StringArray),
        ["Status"] = w.Status,
        ["ModelName"] = w.ModelName,
        ["Created"] = w.CreationTimestamp,
        ["Updated"] = w.LastUpdatedTimestamp,
    };

    private static Webhook FromEntity(TableEntity e) => new(
        e.RowKey,
        e.GetString("Name") ?? "",
        e.GetString("Description"),
        e.GetString("Url") ?? "",
        (JsonSerializer.Deserialize(e.GetString("Events") ?? "[]", WebhookJson.Default.StringArray) ?? [])
            .Select(s => s.Split('.', 2)).Where(p => p.Length == 2).Select(p => new WebhookEvent(p[0], p[1])).ToList(),
        e.GetString("Status") ?? WebhookStatus.Active,
        e.GetString("ModelName"),
        e.GetInt64("Created") ?? 0,
        e.GetInt64("Updated") ?? 0);
}
