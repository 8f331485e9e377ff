using System.Diagnostics;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Issue item 4: reading a long metric history the way the client does (<c>get_metric_history</c>:
/// GET get-history with max_results=25000, following next_page_token until it is absent). Every
/// read is checked — exactly the logged points, steps in order — before its time counts.
/// </summary>
public static class MetricHistoryWorkload
{
    private const string Key = "loss";

    public static async Task RunAsync(MlflowClient client, string experimentId, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        var steps = sizes.HistorySteps;
        Report.Progress($"metric history: logging {steps} points of '{Key}'");
        var runId = await client.CreateRunAsync(experimentId, "metric-history", ct);
        var callCount = (steps + MetricSeries.MaxMetricsPerBatch - 1) / MetricSeries.MaxMetricsPerBatch;
        var bodies = MetricSeries.Batches(runId, [Key], firstCall: 0, callCount, MetricSeries.MaxMetricsPerBatch);
        foreach (var body in bodies)
        {
            await client.LogBatchAsync(body, ct);
        }

        Report.Progress($"metric history: {sizes.HistoryReads} timed reads");
        var milliseconds = new List<double>();
        var pages = 0;
        for (var read = 0; read < sizes.HistoryReads; read++)
        {
            var started = Stopwatch.GetTimestamp();
            var (points, pageCount) = await ReadHistoryAsync(client, runId, steps, ct);
            milliseconds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Verify(points, steps);
            pages = pageCount;
        }

        report.Milliseconds("metric_history_read_median", Stats.Median(milliseconds));
        report.Count("metric_history_points", steps, "points");
        report.Count("metric_history_pages", pages, "pages");
    }

    private static async Task<(List<MetricPoint> Points, int Pages)> ReadHistoryAsync(
        MlflowClient client, string runId, int expected, CancellationToken ct)
    {
        // Bounded: a server that keeps handing out tokens (or more points than were logged) is wrong.
        var maxPages = (expected / 100) + 10;
        var points = new List<MetricPoint>(expected);
        string? token = null;
        var pages = 0;
        do
        {
            if (++pages > maxPages)
            {
                throw new BenchException($"metric history: still paging after {maxPages} pages ({points.Count} points so far)");
            }

            var page = await client.GetMetricHistoryPageAsync(runId, Key, token, ct);
            points.AddRange(page.Metrics);
            if (points.Count > expected)
            {
                throw new BenchException($"metric history: got more than the {expected} points logged ({points.Count} after {pages} pages)");
            }

            token = page.NextPageToken;
        }
        while (token is not null);

        return (points, pages);
    }

    private static void Verify(List<MetricPoint> points, int expected)
    {
        if (points.Count != expected)
        {
            throw new BenchException($"metric history: expected {expected} points, got {points.Count}");
        }

        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Step != i || points[i].Key != Key)
            {
                throw new BenchException(
                    $"metric history: points out of order or wrong — position {i} holds key '{points[i].Key}' step {points[i].Step}, expected '{Key}' step {i}");
            }
        }
    }
}
