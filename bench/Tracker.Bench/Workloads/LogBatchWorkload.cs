using System.Diagnostics;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Issue items 1, 2 and 6: <c>runs/log-batch</c> throughput with full batches of 1000 new points
/// (10 keys x 100 steps), sequentially on one run and with concurrent writers; and Tracker's
/// storage requests per call. Bodies are built before the clock starts so only the server is timed.
/// </summary>
public static class LogBatchWorkload
{
    private const int StepsPerCall = 100;
    private const int PointsPerCall = 1000;

    /// <summary>Untimed calls first, so connection setup and first-write costs are not in the figure.</summary>
    private const int WarmupCalls = 2;

    private static readonly string[] Keys = [.. Enumerable.Range(0, PointsPerCall / StepsPerCall).Select(k => $"metric_{k}")];

    public static async Task RunSequentialAsync(MlflowClient client, string experimentId, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        Report.Progress($"log-batch sequential: {sizes.SequentialBatchCalls} calls");
        var runId = await client.CreateRunAsync(experimentId, "log-batch-sequential", ct);
        var bodies = MetricSeries.Batches(runId, Keys, firstCall: 0, WarmupCalls + sizes.SequentialBatchCalls, StepsPerCall);
        foreach (var body in bodies[..WarmupCalls])
        {
            await client.LogBatchAsync(body, ct);
        }

        var callMilliseconds = new List<double>();
        var storageRequests = new List<int>();
        var started = Stopwatch.GetTimestamp();
        foreach (var body in bodies[WarmupCalls..])
        {
            var callStarted = Stopwatch.GetTimestamp();
            var requests = await client.LogBatchAsync(body, ct);
            callMilliseconds.Add(Stopwatch.GetElapsedTime(callStarted).TotalMilliseconds);
            if (requests is { } n)
            {
                storageRequests.Add(n);
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        report.Figure("log_batch_seq_throughput", sizes.SequentialBatchCalls * PointsPerCall / elapsed.TotalSeconds, "points/s", "F0");
        report.Milliseconds("log_batch_seq_call_median", Stats.Median(callMilliseconds));
        ReportStorageRequests(storageRequests, sizes.SequentialBatchCalls, report);
    }

    public static async Task RunConcurrentAsync(
        MlflowClient client, string experimentId, WorkloadSizes sizes, bool sameRun, Report report, CancellationToken ct)
    {
        var writers = sizes.ConcurrentWriters;
        Report.Progress($"log-batch concurrent: {writers} writers x {sizes.CallsPerWriter} calls, {(sameRun ? "one shared run" : "one run each")}");
        var runIds = new string[writers];
        for (var w = 0; w < writers; w++)
        {
            runIds[w] = sameRun && w > 0 ? runIds[0] : await client.CreateRunAsync(experimentId, $"log-batch-writer-{w}", ct);
        }

        // Writer w owns calls [w*(n+1), (w+1)*(n+1)): disjoint steps, so even on a shared run every point is new.
        var callsEach = 1 + sizes.CallsPerWriter;
        var bodies = Enumerable.Range(0, writers)
            .Select(w => MetricSeries.Batches(runIds[w], Keys, firstCall: w * callsEach, callsEach, StepsPerCall))
            .ToArray();

        // One untimed call per writer, all at once, opens the connections the timed part reuses.
        await Concurrently.RunAsync(writers, (w, token) => client.LogBatchAsync(bodies[w][0], token), ct);

        var started = Stopwatch.GetTimestamp();
        await Concurrently.RunAsync(writers, async (w, token) =>
        {
            foreach (var body in bodies[w][1..])
            {
                await client.LogBatchAsync(body, token);
            }
        }, ct);
        var elapsed = Stopwatch.GetElapsedTime(started);

        var points = (double)writers * sizes.CallsPerWriter * PointsPerCall;
        var name = sameRun ? "log_batch_concurrent_same_run_throughput" : "log_batch_concurrent_throughput";
        report.Figure(name, points / elapsed.TotalSeconds, "points/s", "F0");
    }

    private static void ReportStorageRequests(List<int> perCall, int calls, Report report)
    {
        const string name = "log_batch_storage_requests_per_call";
        if (perCall.Count == 0)
        {
            report.NotAvailable(name);
            return;
        }

        if (perCall.Count != calls)
        {
            Console.Error.WriteLine(
                $"warning: {MlflowClient.StorageRequestsHeader} was on {perCall.Count} of {calls} log-batch answers; averaging those");
        }

        report.Figure(name, perCall.Average(), "requests");
    }
}
