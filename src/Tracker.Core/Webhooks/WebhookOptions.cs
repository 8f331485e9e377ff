namespace Tracker.Core.Webhooks;

/// <summary>Webhook delivery settings (<c>Tracker:Webhooks</c>; app settings <c>Tracker__Webhooks__…</c>).</summary>
public sealed class WebhookOptions
{
    public const string Section = "Tracker:Webhooks";

    /// <summary>Deliveries of one event to one webhook, the first included, before it is dropped with a logged error.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>One delivery's whole HTTP exchange (connect, send, response headers); the connect alone gets at most 5 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// TEST ONLY. Lets deliveries reach loopback addresses (127.0.0.0/8, ::1) so tests can run a receiver on
    /// 127.0.0.1. Every other non-public address stays refused. Never set it in a deployment: a webhook could then
    /// reach the instance's own endpoints and sidecars.
    /// </summary>
    public bool AllowLoopbackForTests { get; set; }

    public bool IsValid() =>
        MaxAttempts is >= 1 and <= 20 && RequestTimeout > TimeSpan.Zero && RequestTimeout <= TimeSpan.FromMinutes(1);
}
