namespace Tracker.Functions.Triggers;

/// <summary>
/// Local mode (no Functions host): whether <see cref="LocalQueuePoller"/> runs, and the host's queue semantics it
/// copies. The defaults are host.json's <c>extensions.queues</c> values (a test keeps them equal).
/// </summary>
public sealed class TriggerOptions
{
    public const string Section = "Tracker:Triggers";

    /// <summary>Poll the trigger queues in-process. Off by default (test apps share one Azurite); <c>npm start</c>
    /// turns it on. Always off under the Functions host, which does the polling itself.</summary>
    public bool LocalPolling { get; set; }
    /// <summary>Failed deliveries after which a message moves to <c>&lt;queue&gt;-poison</c> (host.json maxDequeueCount).</summary>
    public int MaxDequeueCount { get; set; } = 5;
    /// <summary>How long a failed message stays invisible before it is retried (host.json visibilityTimeout).</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>The longest wait between polls of an empty queue (the host's maxPollingInterval, shorter for local use).</summary>
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a received message stays hidden while its handler runs (host.json functionTimeout).</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(10);

    public bool IsValid() =>
        MaxDequeueCount >= 1 && VisibilityTimeout >= TimeSpan.Zero && VisibilityTimeout <= TimeSpan.FromDays(7) &&
        MaxPollingInterval > TimeSpan.Zero && Lease >= TimeSpan.FromSeconds(1) && Lease <= TimeSpan.FromDays(7);
}
