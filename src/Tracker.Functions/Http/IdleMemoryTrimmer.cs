using System.Runtime;
using Microsoft.Extensions.Options;

namespace Tracker.Functions.Http;

/// <summary>Memory settings (<c>Tracker:Memory</c>).</summary>
public sealed class MemoryOptions
{
    public const string Section = "Tracker:Memory";

    /// <summary>
    /// After this long without a request in flight, memory the GC no longer needs goes back to the OS; zero turns it
    /// off. An instance between bursts then holds its working set, not the peak of the last burst.
    /// </summary>
    public TimeSpan TrimWhenIdleFor { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Allocations since the last trim below which an idle trim is not worth a full collection.</summary>
    public long TrimAfterAllocatedBytes { get; set; } = 32 * 1024 * 1024;
}

/// <summary>
/// Returns memory to the OS when the instance goes idle. The workstation GC keeps freed segments and a gen0 budget
/// sized for throughput, so after a burst a Flex instance (512 MB at the smallest) would hold the burst's peak until
/// the next one; one aggressive, compacting collection while nothing is in flight hands it back and costs no request
/// any latency. Requests are counted by <see cref="Track"/>, the first middleware of the pipeline.
/// </summary>
public sealed class IdleMemoryTrimmer(IOptions<MemoryOptions> options, TimeProvider clock, ILogger<IdleMemoryTrimmer> logger) : BackgroundService
{
    private int _inFlight;
    private long _lastActivity = clock.GetTimestamp();
    private long _allocatedAtLastTrim = GC.GetTotalAllocatedBytes();

    public async Task Track(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            await next(context);
        }
        finally
        {
            Interlocked.Exchange(ref _lastActivity, clock.GetTimestamp());
            Interlocked.Decrement(ref _inFlight);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idleFor = options.Value.TrimWhenIdleFor;
        if (idleFor <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(idleFor / 2, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (Volatile.Read(ref _inFlight) > 0 || clock.GetElapsedTime(Interlocked.Read(ref _lastActivity)) < idleFor) continue;
            var allocated = GC.GetTotalAllocatedBytes();
            if (allocated - _allocatedAtLastTrim < options.Value.TrimAfterAllocatedBytes) continue;
            _allocatedAtLastTrim = allocated;
            var before = Environment.WorkingSet;
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            logger.LogDebug("Idle: working set {Before} -> {After} bytes", before, Environment.WorkingSet);
        }
    }
}
