using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Tracker.Core.Storage;

/// <summary>
/// Whether storage answers, for <c>/health</c>: one point read (<see cref="TrackingStore.ProbeAsync"/>) at most every
/// <see cref="ProbeInterval"/> however often monitors call, each bounded by <see cref="ProbeTimeout"/>; callers in
/// between share the latest probe. A stall or outage thus shows within seconds without /health adding load, and is
/// logged once per probe (the health-check service's own per-call log is filtered out in AddTrackerLogging).
/// </summary>
internal sealed class StorageHealthCheck(TrackingStore store, TimeProvider clock, ILogger<StorageHealthCheck> logger) : IHealthCheck
{
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private Task<HealthCheckResult>? _latest;
    private DateTimeOffset _latestAt;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        Task<HealthCheckResult> latest;
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            if (_latest is null || now - _latestAt >= ProbeInterval)
            {
                _latest = ProbeAsync();
                _latestAt = now;
            }
            latest = _latest;
        }
        return latest.WaitAsync(cancellationToken);
    }

    private async Task<HealthCheckResult> ProbeAsync()
    {
        using var timeout = new CancellationTokenSource(ProbeTimeout, clock);
        try
        {
            await store.ProbeAsync(timeout.Token);
            return HealthCheckResult.Healthy("Storage answers.");
        }
        catch (Exception e)
        {
            // The description goes to the client: the cause (with the storage endpoint) stays in the log.
            logger.LogWarning(e, "Storage health probe failed");
            return HealthCheckResult.Unhealthy("Storage does not answer.");
        }
    }
}
