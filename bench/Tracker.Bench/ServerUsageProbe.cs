using System.Diagnostics;

namespace Tracker.Bench;

/// <summary>What a launched server spent during one measured case.</summary>
/// <param name="Cpu">User + system CPU time, the difference over the case.</param>
/// <param name="ResidentBeforeMegabytes">VmRSS just before the case.</param>
/// <param name="PeakResidentMegabytes">The largest VmRSS during the case: VmHWM after a reset, or else the largest sample.</param>
/// <param name="PeakFromHighWaterMark">Whether VmHWM could be reset for the case (otherwise only samples count).</param>
public readonly record struct ServerUsage(TimeSpan Cpu, double ResidentBeforeMegabytes, double PeakResidentMegabytes, bool PeakFromHighWaterMark);

/// <summary>
/// Watches a launched server through one case: CPU time before and after, VmHWM reset at the start, and VmRSS
/// sampled every <see cref="SampleInterval"/> meanwhile. The samples back up VmHWM where it cannot be reset, and
/// they are cheap (one small /proc read), so the bench's own share of the two cores hardly moves.
/// </summary>
public sealed class ServerUsageProbe
{
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan QuietSpan = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SettlePoll = TimeSpan.FromMilliseconds(50);

    private readonly LaunchedServer _server;
    private readonly TimeSpan _cpuBefore;
    private readonly double _residentBefore;
    private readonly bool _highWaterMarkReset;
    private readonly CancellationTokenSource _stopSampling = new();
    private readonly Task<double> _sampling;

    private ServerUsageProbe(LaunchedServer server)
    {
        _server = server;
        _highWaterMarkReset = server.ResetPeakMemory();
        _residentBefore = server.ReadStatusMemory()?.ResidentMegabytes ?? throw new BenchException("cannot read the server's memory from /proc");
        _cpuBefore = server.ReadCpuTime();
        _sampling = Task.Run(() => SampleAsync(_stopSampling.Token), CancellationToken.None);
    }

    /// <summary>
    /// Waits until the server has used no CPU for <see cref="QuietSpan"/> (at most <see cref="MaxSettle"/>), so work the
    /// previous case left behind — tier-1 JIT of hot methods, which runs in the background after a delay, or a GC —
    /// is not charged to the next case. Returns how long it waited.
    /// </summary>
    public static async Task<TimeSpan> WaitForQuietAsync(LaunchedServer? server, CancellationToken ct)
    {
        if (server is null)
        {
            return TimeSpan.Zero;
        }

        var started = Stopwatch.GetTimestamp();
        var cpu = server.ReadCpuTime();
        var quietSince = started;
        while (Stopwatch.GetElapsedTime(quietSince) < QuietSpan && Stopwatch.GetElapsedTime(started) < MaxSettle)
        {
            await Task.Delay(SettlePoll, ct);
            var now = server.ReadCpuTime();
            if (now != cpu)
            {
                cpu = now;
                quietSince = Stopwatch.GetTimestamp();
            }
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Starts watching <paramref name="server"/>; null (nothing to watch) when the bench did not launch it.</summary>
    public static ServerUsageProbe? Start(LaunchedServer? server) => server is null ? null : new ServerUsageProbe(server);

    public async Task<ServerUsage> StopAsync()
    {
        var cpu = _server.ReadCpuTime() - _cpuBefore;
        var now = _server.ReadStatusMemory();
        await _stopSampling.CancelAsync();
        var sampledPeak = await _sampling;
        _stopSampling.Dispose();
        var peak = Math.Max(sampledPeak, now?.ResidentMegabytes ?? 0);
        if (_highWaterMarkReset && now is { } m)
        {
            peak = Math.Max(peak, m.PeakResidentMegabytes);
        }

        return new ServerUsage(cpu, _residentBefore, peak, _highWaterMarkReset);
    }

    private async Task<double> SampleAsync(CancellationToken ct)
    {
        var peak = _residentBefore;
        using var timer = new PeriodicTimer(SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                if (_server.ReadStatusMemory() is { } m)
                {
                    peak = Math.Max(peak, m.ResidentMegabytes);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped at the end of the case.
        }
        catch (IOException)
        {
            // The process went away mid-read; the case itself will report that.
        }

        return peak;
    }
}
