using System.Text.Json;
using System.Text.Json.Serialization;
using Tracker.Core.Storage;

namespace Tracker.Core.Webhooks;

/// <summary>
/// One event for one webhook on the <see cref="WebhookPublisher.QueueName"/> queue. It carries the webhook's id and the
/// event's body, never its URL or secret: the consumer reads the webhook again (deleted or DISABLED: dropped) and signs
/// with the secret from the store. <see cref="DeliveryId"/> stays the same across retries (as it does across MLflow's
/// in-process retries), so a receiver can drop a duplicate.
/// </summary>
public sealed record WebhookDeliveryMessage
{
    [JsonPropertyName("webhook_id")] public required string WebhookId { get; init; }
    [JsonPropertyName("delivery_id")] public required string DeliveryId { get; init; }
    [JsonPropertyName("entity")] public required string Entity { get; init; }
    [JsonPropertyName("action")] public required string Action { get; init; }
    /// <summary>The exact body to POST (<see cref="WebhookPayloads.Envelope"/>).</summary>
    [JsonPropertyName("payload")] public required string Payload { get; init; }
    /// <summary>1 for the first delivery; a retry is a new message with the next number.</summary>
    [JsonPropertyName("attempt")] public int Attempt { get; init; } = 1;
    [JsonPropertyName(QueueTrace.Property)] public string? TraceParent { get; init; }

    [JsonIgnore] public WebhookEvent Event => new(Entity, Action);

    public string ToJson() => JsonSerializer.Serialize(this, WebhookJson.Default.WebhookDeliveryMessage);

    /// <summary>The message, or null for text that is not one (nothing in it is trusted: dropped, not retried).</summary>
    public static WebhookDeliveryMessage? Parse(string text)
    {
        try
        {
            var m = JsonSerializer.Deserialize(text, WebhookJson.Default.WebhookDeliveryMessage);
            return m is not null && WebhookStore.IsWellFormedId(m.WebhookId) && m.Attempt >= 1 && m.DeliveryId.Length is > 0 and <= 64 ? m : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookDeliveryMessage))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class WebhookJson : JsonSerializerContext;
