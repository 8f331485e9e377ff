namespace Tracker.Core.Webhooks;

// MLflow 3's webhook entities (mlflow/protos/webhooks.proto, mlflow/entities/webhook.py), plus Tracker's promotion
// events and optional model scope. Small wire-contract records grouped here on purpose (STYLE.md §8).

/// <summary>MLflow's <c>WebhookStatus</c>: only an ACTIVE webhook is sent events.</summary>
public static class WebhookStatus
{
    public const string Active = "ACTIVE";
    public const string Disabled = "DISABLED";

    public static readonly IReadOnlyList<string> All = [Active, Disabled];
}

/// <summary>
/// An event a webhook subscribes to: an entity and an action, lowercase as MLflow's <c>WebhookEntity</c> and
/// <c>WebhookAction</c> values are (<c>model_version</c>, <c>created</c>). On the REST wire they travel as the proto
/// enum names (<c>MODEL_VERSION</c>, <c>CREATED</c>); in a delivered payload as these values.
/// </summary>
public sealed record WebhookEvent(string Entity, string Action)
{
    public override string ToString() => $"{Entity}.{Action}";
}

/// <summary>The events Tracker fires: MLflow's model-registry events, then Tracker's own promotion outcomes.</summary>
public static class WebhookEvents
{
    public static readonly WebhookEvent RegisteredModelCreated = new("registered_model", "created");
    public static readonly WebhookEvent ModelVersionCreated = new("model_version", "created");
    public static readonly WebhookEvent ModelVersionTagSet = new("model_version_tag", "set");
    public static readonly WebhookEvent ModelVersionTagDeleted = new("model_version_tag", "deleted");
    public static readonly WebhookEvent ModelVersionAliasCreated = new("model_version_alias", "created");
    public static readonly WebhookEvent ModelVersionAliasDeleted = new("model_version_alias", "deleted");
    // Tracker's: MLflow has no promotions. The action is the promotion's final status.
    public static readonly WebhookEvent PromotionSucceeded = new("promotion", "succeeded");
    public static readonly WebhookEvent PromotionRejected = new("promotion", "rejected");
    public static readonly WebhookEvent PromotionFailed = new("promotion", "failed");

    public static readonly IReadOnlyList<WebhookEvent> All =
    [
        RegisteredModelCreated, ModelVersionCreated, ModelVersionTagSet, ModelVersionTagDeleted,
        ModelVersionAliasCreated, ModelVersionAliasDeleted, PromotionSucceeded, PromotionRejected, PromotionFailed,
    ];

    /// <summary>The promotion event for a decided promotion's status; null for pending.</summary>
    public static WebhookEvent? ForPromotionStatus(string status) => All.FirstOrDefault(e => e.Entity == "promotion" && e.Action == status);
}

/// <summary>
/// A webhook as every route answers it. The secret is not part of it on purpose: it is write-only, kept encrypted by
/// <see cref="WebhookStore"/> and read back only by the delivery code that signs with it.
/// <see cref="ModelName"/> is Tracker's extension: a webhook scoped to one registered model is sent only that model's
/// events, and MANAGE on the model lets a non-admin manage it (MLflow's webhooks are registry-wide, admin only).
/// </summary>
public sealed record Webhook(
    string WebhookId,
    string Name,
    string? Description,
    string Url,
    IReadOnlyList<WebhookEvent> Events,
    string Status,
    string? ModelName,
    long CreationTimestamp,
    long LastUpdatedTimestamp)
{
    public bool IsActive => Status == WebhookStatus.Active;

    /// <summary>Whether an event of <paramref name="model"/> goes to this webhook (status aside).</summary>
    public bool Wants(WebhookEvent e, string model) =>
        Events.Contains(e) && (ModelName is null || string.Equals(ModelName, model, StringComparison.Ordinal));
}

/// <summary>What <c>create</c> takes (MLflow's <c>CreateWebhook</c>, plus Tracker's model scope).</summary>
public sealed record NewWebhook(
    string Name, string? Description, string Url, IReadOnlyList<WebhookEvent> Events, string? Secret, string? Status, string? ModelName);

/// <summary>
/// What <c>update</c> changes (MLflow's <c>UpdateWebhook</c>): null leaves a field as it is; an empty secret or model
/// name removes it.
/// </summary>
public sealed record WebhookUpdate(
    string? Name, string? Description, string? Url, IReadOnlyList<WebhookEvent>? Events, string? Secret, string? Status, string? ModelName);

/// <summary>MLflow's <c>WebhookTestResult</c>.</summary>
public sealed record WebhookTestResult(bool Success, int? ResponseStatus, string? ResponseBody, string? ErrorMessage);
