using System.Globalization;
using Tracker.Core.Auth;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;

namespace Tracker.Core.Webhooks;

/// <summary>
/// MLflow 3's webhook RPCs (create, list, get, update, delete, test) over <see cref="WebhookStore"/>: validation and
/// defaults here, so every caller applies the same rules. Every change makes this instance's publisher read the table
/// again at once (other instances within <see cref="WebhookPublisher.SubscriberRefresh"/>).
/// </summary>
public sealed class WebhookService(
    WebhookStore store, WebhookPublisher publisher, WebhookSender sender, RegistryStore registry, ServerKeys keys, TimeProvider time)
{
    public const int DefaultPerPage = 100;
    public const int MaxPerPage = 1000;

    public async Task<Webhook> CreateAsync(NewWebhook request, CancellationToken ct)
    {
        var model = WebhookValidation.ModelName(request.ModelName);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var webhook = new Webhook(
            WebhookStore.NewId(),
            WebhookValidation.Name(request.Name),
            WebhookValidation.Description(request.Description),
            WebhookValidation.Url(request.Url),
            WebhookValidation.Events(request.Events),
            request.Status is null ? WebhookStatus.Active : WebhookValidation.Status(request.Status),
            model,
            now,
            now);
        var secret = WebhookValidation.Secret(request.Secret);
        if (model is not null) await registry.GetRegisteredModelAsync(model, ct); // a scope names a model that exists: 404 otherwise
        await store.AddAsync(webhook, secret, ct);
        publisher.Invalidate();
        return webhook;
    }

    public async Task<Webhook> GetAsync(string id, CancellationToken ct) =>
        await store.GetAsync(id, ct) ?? throw WebhookStore.NotFound(id);

    /// <summary>Oldest first, <paramref name="maxResults"/> a page (MLflow's default 100), only what <paramref name="visible"/>
    /// lets through (null: all), with a signed page token bound to the page size.</summary>
    public async Task<Page<Webhook>> ListAsync(int? maxResults, string? pageToken, Func<Webhook, ValueTask<bool>>? visible, CancellationToken ct)
    {
        var max = maxResults ?? DefaultPerPage;
        if (max is < 1 or > MaxPerPage)
            throw MlflowException.InvalidParameter($"max_results must be between 1 and {MaxPerPage}, got {max}.");
        var query = PageQuery.Of("webhooks/list", [], [max.ToString(CultureInfo.InvariantCulture)]);
        var start = await TableStorage.ReadPageTokenAsync(keys, pageToken, query, ct);
        var all = new List<Webhook>();
        foreach (var webhook in await store.ListAsync(ct))
            if (visible is null || await visible(webhook)) all.Add(webhook);
        var items = all.Skip(start.Offset).Take(max).ToList();
        return new Page<Webhook>(items, await TableStorage.NextPageTokenAsync(keys, start.Offset, max, all.Count, query, ct));
    }

    public async Task<Webhook> UpdateAsync(string id, WebhookUpdate update, CancellationToken ct)
    {
        var name = update.Name is null ? null : WebhookValidation.Name(update.Name);
        var description = WebhookValidation.Description(update.Description);
        var url = update.Url is null ? null : WebhookValidation.Url(update.Url);
        // MLflow leaves an empty repeated field as "not given": events change only when some are sent.
        var events = update.Events is { Count: > 0 } given ? WebhookValidation.Events(given) : null;
        var status = update.Status is null ? null : WebhookValidation.Status(update.Status);
        var secret = WebhookValidation.Secret(update.Secret);
        var model = update.ModelName is null ? null : WebhookValidation.ModelName(update.ModelName) ?? "";
        if (model is { Length: > 0 }) await registry.GetRegisteredModelAsync(model, ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var updated = await store.UpdateAsync(id, current => (current with
        {
            Name = name ?? current.Name,
            Description = description ?? current.Description,
            Url = url ?? current.Url,
            Events = events ?? current.Events,
            Status = status ?? current.Status,
            ModelName = model is null ? current.ModelName : model.Length == 0 ? null : model,
            LastUpdatedTimestamp = now,
        }, secret), ct) ?? throw WebhookStore.NotFound(id);
        publisher.Invalidate();
        return updated;
    }

    /// <summary>
    /// After a registered model's rename: its scoped webhooks follow it, as its permission grants do, so its managers
    /// keep managing them and its events keep reaching them. (A deleted model's webhooks stay, admin-managed.)
    /// </summary>
    public async Task RenameModelAsync(string oldName, string newName, CancellationToken ct)
    {
        var changed = false;
        foreach (var webhook in await store.ListAsync(ct))
        {
            if (webhook.ModelName != oldName) continue;
            await store.UpdateAsync(webhook.WebhookId, current => (current.ModelName == oldName ? current with { ModelName = newName } : current, null), ct);
            changed = true;
        }
        if (changed) publisher.Invalidate();
    }

    public async Task DeleteAsync(string id, CancellationToken ct)
    {
        if (!await store.DeleteAsync(id, ct)) throw WebhookStore.NotFound(id);
        publisher.Invalidate();
    }

    /// <summary>
    /// MLflow's <c>test_webhook</c>: sends the example payload of <paramref name="e"/> (default: the webhook's first
    /// event) now, through the same guarded client as deliveries, and answers how it went. Success is a status below
    /// 400, as in MLflow (a redirect is not followed, so a 3xx counts as answered).
    /// </summary>
    public async Task<WebhookTestResult> TestAsync(string id, WebhookEvent? e, CancellationToken ct)
    {
        var (webhook, secret) = await store.GetSecretAsync(id, ct) ?? throw WebhookStore.NotFound(id);
        var testEvent = e ?? webhook.Events[0];
        var payload = WebhookPayloads.Envelope(testEvent, time.GetUtcNow(), WebhookPayloads.Example(testEvent));
        var outcome = await sender.SendAsync(webhook.Url, secret, Guid.NewGuid().ToString(), payload, ct);
        return outcome.Status is { } status
            ? new WebhookTestResult(status < 400, status, outcome.Body, null)
            : new WebhookTestResult(false, null, null, "Failed to test webhook: " + outcome.Error);
    }
}
