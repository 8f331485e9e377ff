namespace Tracker.Functions.Triggers;

/// <summary>Webhook deliveries (issue 10 §2): one message per event and subscribed webhook.</summary>
public static class WebhookDeliveryTrigger
{
    public const string FunctionName = "WebhookDelivery";
    public const string Queue = "webhook-deliveries";
    public static readonly QueueTrigger Definition = new(FunctionName, Queue);
}
