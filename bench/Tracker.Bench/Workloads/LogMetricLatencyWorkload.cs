using System.Diagnostics;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Issue item 3: latency of single <c>runs/log-metric</c> calls, one at a time, as
/// <c>mlflow.log_metric</c> in a training loop sends them (one new step per call).
/// </summary>
public static class LogMetricLatencyWorkload
{
    private const string Key = "latency_probe";

    public static async Task RunAsync(MlflowClient client, string experimentId, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        Report.Progress($"log-metric latency: {sizes.LogMetricCalls} calls after {sizes.LogMetricWarmupCalls} warm-up");
        var runId = await client.CreateRunAsync(experimentId, "log-metric-latency", ct);

        for (var step = 0; step < sizes.LogMetricWarmupCalls; step++)
        {
            await client.LogMetricAsync(runId, Point(step), ct);
        }

        var milliseconds = new List<double>(sizes.LogMetricCalls);
        for (var step = sizes.LogMetricWarmupCalls; step < sizes.LogMetricWarmupCalls + sizes.LogMetricCalls; step++)
        {
            var point = Point(step);
            var started = Stopwatch.GetTimestamp();
            await client.LogMetricAsync(runId, point, ct);
            milliseconds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        report.Milliseconds("log_metric_latency_median", Stats.Median(milliseconds));
        report.Milliseconds("log_metric_latency_p95", Stats.Percentile(milliseconds, 95));
    }

    private static MetricPoint Point(int step) =>
        new(Key, 1.0 / (1 + step), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), step);
}
