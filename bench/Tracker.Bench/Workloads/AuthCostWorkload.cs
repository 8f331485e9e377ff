using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace Tracker.Bench.Workloads;

/// <summary>
/// What authentication costs (issue 8's benchmark): the launched executable is started several times with auth off and
/// on, alternately, on the same storage, and each time the bench takes the latency of single <c>runs/log-metric</c>
/// calls and the throughput of sequential 1000-point <c>runs/log-batch</c> calls. "On" signs in with a Tracker token
/// (<c>Authorization: Bearer</c>, as the client sends <c>MLFLOW_TRACKING_TOKEN</c>) of a non-admin user, so every call
/// goes through token verification and the experiment permission check; the token is made once, before the rounds, with
/// the same executable's <c>admin create-token</c>. Both sides listen on loopback as a local run does (Tracker refuses
/// auth off under the Functions host), so auth is the only difference.
/// </summary>
public static class AuthCostWorkload
{
    private const string Key = "auth_probe";
    private const int StepsPerCall = 100;
    private const int PointsPerCall = 1000;
    private const int BatchWarmupCalls = 2;

    private static readonly string[] BatchKeys = [.. Enumerable.Range(0, PointsPerCall / StepsPerCall).Select(k => $"metric_{k}")];

    public static async Task RunAsync(LaunchedServer server, HttpClient http, bool quick, Report report, CancellationToken ct)
    {
        // Separate processes differ by more than auth costs (±15 % between runs of 5 rounds), so 12 rounds.
        var rounds = quick ? 2 : 12;
        var warmup = quick ? 10 : 50;
        var calls = quick ? 50 : 300;
        var batches = quick ? 5 : 30;

        var token = await server.CreateBenchTokenAsync(ct);

        IReadOnlyList<KeyValuePair<string, string>> on = [new("Tracker__Auth__Disabled", "false")];
        IReadOnlyList<KeyValuePair<string, string>> off = [new("Tracker__Auth__Disabled", "true")];

        Report.Progress($"auth cost: {rounds} rounds of ({warmup} + {calls} log-metric calls, {BatchWarmupCalls} + {batches} log-batch calls of {PointsPerCall} points) with auth off and on");
        var latency = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        var throughput = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        for (var round = 0; round < rounds; round++)
        {
            // Alternate which goes first, so neither always gets the warmer page cache.
            foreach (var auth in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                using var instance = await server.StartSiblingAsync(auth ? on : off, http, ct, functionsHost: false);
                await RequireAuthAsync(http, instance.BaseUrl, auth, ct);
                var client = new MlflowClient(http, instance.BaseUrl, auth ? token : null);
                var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment($"auth-{round}-{(auth ? "on" : "off")}"), ct);

                var runId = await client.CreateRunAsync(experimentId, "auth-cost-log-metric", ct);
                for (var step = 0; step < warmup + calls; step++)
                {
                    var point = new MetricPoint(Key, step, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), step);
                    var started = Stopwatch.GetTimestamp();
                    await client.LogMetricAsync(runId, point, ct);
                    if (step >= warmup)
                    {
                        latency[auth].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }

                var batchRunId = await client.CreateRunAsync(experimentId, "auth-cost-log-batch", ct);
                var bodies = MetricSeries.Batches(batchRunId, BatchKeys, firstCall: 0, BatchWarmupCalls + batches, StepsPerCall);
                foreach (var body in bodies[..BatchWarmupCalls])
                {
                    await client.LogBatchAsync(body, ct);
                }

                var batchStarted = Stopwatch.GetTimestamp();
                foreach (var body in bodies[BatchWarmupCalls..])
                {
                    await client.LogBatchAsync(body, ct);
                }

                throughput[auth].Add(batches * PointsPerCall / Stopwatch.GetElapsedTime(batchStarted).TotalSeconds);
            }
        }

        Compare(report, "auth_log_metric_median", Stats.Median(latency[false]), Stats.Median(latency[true]));
        Compare(report, "auth_log_metric_p95", Stats.Percentile(latency[false], 95), Stats.Percentile(latency[true], 95));
        // Throughput: the cost is that of the time per point, (off / on) - 1, so a positive cost means slower with auth,
        // as for the latencies.
        var batchOff = Stats.Median(throughput[false]);
        var batchOn = Stats.Median(throughput[true]);
        report.Figure("auth_log_batch_throughput_off", batchOff, "points/s", "F0");
        report.Figure("auth_log_batch_throughput_on", batchOn, "points/s", "F0");
        report.Change("auth_log_batch_throughput_cost", (batchOff / batchOn - 1) * 100);
    }

    /// <summary>
    /// The "on" figures mean something only if the server really asks for credentials, and the "off" ones only if it does
    /// not: one uncredentialed call tells which.
    /// </summary>
    private static async Task RequireAuthAsync(HttpClient http, string baseUrl, bool auth, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/api/2.0/mlflow/experiments/search")
        {
            Content = new ByteArrayContent("{\"max_results\":1}"u8.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        using var response = await http.SendAsync(request, ct);
        var expected = auth ? HttpStatusCode.Unauthorized : HttpStatusCode.OK;
        if (response.StatusCode != expected)
        {
            throw new BenchException($"auth {(auth ? "on" : "off")}: a call without credentials answered {(int)response.StatusCode}, expected {(int)expected}");
        }
    }

    private static void Compare(Report report, string name, double off, double on)
    {
        report.Milliseconds(name + "_off", off);
        report.Milliseconds(name + "_on", on);
        report.Change(name + "_cost", (on - off) / off * 100);
    }
}
