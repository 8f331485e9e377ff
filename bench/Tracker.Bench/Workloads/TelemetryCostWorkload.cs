using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tracker.Bench.Workloads;

/// <summary>
/// What OpenTelemetry costs: in each round the launched executable is started twice, telemetry off and on, and the
/// bench takes each one's process start to first 200, then the latency of single <c>runs/log-metric</c> calls sent to
/// the two alternately (a paired comparison: both sides see the same moments of a shared, noisy machine).
/// "On" exports traces, metrics and logs over OTLP (http/protobuf) to a sink the bench runs on loopback, which answers
/// 200 to everything; exports run every second (the defaults are 5 s for spans and logs, 60 s for metrics), so the
/// export work falls inside the timed calls. The first <c>warmup</c> calls after start are reported apart ("early"):
/// telemetry's pipeline is built in the background after the first response, while they run.
/// </summary>
public static class TelemetryCostWorkload
{
    private const string Key = "telemetry_probe";
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(3);
    /// <summary>When the second timed window starts: by then the runtime has finished re-compiling the hot paths of both
    /// Tracker and the telemetry SDK (tiered JIT promotes a method after 30 calls, and the exporters run once a second),
    /// so that window is the cost an instance pays for as long as it lives.</summary>
    private static readonly TimeSpan SteadyAfter = TimeSpan.FromSeconds(20);

    public static async Task RunAsync(LaunchedServer server, HttpClient http, string? bearerToken, bool quick, Report report, CancellationToken ct)
    {
        var rounds = quick ? 2 : 8;
        var warmup = quick ? 10 : 50;
        var calls = quick ? 50 : 300;
        var steadyAfter = quick ? WarmupTime : SteadyAfter;
        using var sink = OtlpSink.Start();
        IReadOnlyList<KeyValuePair<string, string>> on =
        [
            new("OTEL_EXPORTER_OTLP_ENDPOINT", sink.Url),
            new("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            new("OTEL_BSP_SCHEDULE_DELAY", "1000"),
            new("OTEL_BLRP_SCHEDULE_DELAY", "1000"),
            new("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ];
        IReadOnlyList<KeyValuePair<string, string>> off =
        [
            new("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
            new("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
            new("Tracker__Telemetry__Console", "false"),
        ];

        Report.Progress($"telemetry cost: {rounds} rounds of (start both, {warmup} + {calls} log-metric calls each after {WarmupTime.TotalSeconds:0} s, " +
                        $"{calls} more each after {steadyAfter.TotalSeconds:0} s), telemetry off and on side by side");
        var startup = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        var early = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        var warm = new Window();
        var steady = new Window();
        for (var round = 0; round < rounds; round++)
        {
            // Both instances live at once and the timed calls alternate between them (off, on, on, off, …), so a
            // slow spell of the shared machine falls on both sides alike instead of on whichever ran at that moment.
            // Which starts first alternates too, so neither always gets the warmer page cache.
            var order = round % 2 == 0 ? new[] { false, true } : [true, false];
            var instances = new Dictionary<bool, Probe>();
            try
            {
                foreach (var telemetry in order)
                {
                    var instance = await server.StartSiblingAsync(telemetry ? on : off, http, ct);
                    startup[telemetry].Add(instance.StartupToFirstResponse!.Value.TotalMilliseconds);
                    instances[telemetry] = await Probe.StartAsync(instance, http, bearerToken, $"telemetry-{round}-{(telemetry ? "on" : "off")}", ct);
                }

                var started = Stopwatch.GetTimestamp();
                // Tracker builds its telemetry pipeline after the first response, so the first calls of "on" share the
                // machine with that build (reported apart, as the early calls); calls go on until the window starts.
                for (var i = 0; i < warmup || Stopwatch.GetElapsedTime(started) < WarmupTime; i++)
                {
                    foreach (var telemetry in Alternating(order, i))
                    {
                        var milliseconds = await instances[telemetry].CallAsync(ct);
                        if (i < warmup) early[telemetry].Add(milliseconds);
                    }
                }

                await warm.TimeAsync(instances, order, calls, ct);
                for (var i = 0; Stopwatch.GetElapsedTime(started) < steadyAfter; i++)
                {
                    foreach (var telemetry in Alternating(order, i)) await instances[telemetry].CallAsync(ct);
                }

                await steady.TimeAsync(instances, order, calls, ct);
            }
            finally
            {
                foreach (var probe in instances.Values) probe.Instance.Dispose();
            }
        }

        Compare(report, "telemetry_startup", Stats.Median(startup[false]), Stats.Median(startup[true]));
        Compare(report, "telemetry_early_log_metric_median", Stats.Median(early[false]), Stats.Median(early[true]));
        warm.Report(report, "telemetry_log_metric");
        steady.Report(report, "telemetry_steady_log_metric");
        report.Count("telemetry_otlp_exports_received", sink.Requests, "requests");
        if (sink.Requests == 0)
        {
            throw new BenchException("telemetry: the OTLP sink received nothing, so 'on' did not export and its figures mean nothing");
        }
    }

    /// <summary>ABBA order: each pair of calls swaps which side goes first, so neither always follows the other.</summary>
    private static bool[] Alternating(bool[] order, int i) => i % 2 == 0 ? order : [order[1], order[0]];

    /// <summary>One instance under test and the run its log-metric calls write to.</summary>
    private sealed class Probe(LaunchedServer instance, MlflowClient client, string runId)
    {
        private int _step;

        public LaunchedServer Instance => instance;

        public static async Task<Probe> StartAsync(LaunchedServer instance, HttpClient http, string? bearerToken, string name, CancellationToken ct)
        {
            var client = new MlflowClient(http, instance.BaseUrl, bearerToken);
            var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment(name), ct);
            return new Probe(instance, client, await client.CreateRunAsync(experimentId, "telemetry-cost", ct));
        }

        public async Task<double> CallAsync(CancellationToken ct)
        {
            var started = Stopwatch.GetTimestamp();
            await client.LogMetricAsync(runId, new MetricPoint(Key, _step, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _step), ct);
            _step++;
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
    }

    /// <summary>One timed window of both instances, calls alternating: the latencies, and each server's CPU per call.</summary>
    private sealed class Window
    {
        private readonly Dictionary<bool, List<double>> _latency = new() { [false] = [], [true] = [] };
        private readonly Dictionary<bool, List<double>> _cpuPerCall = new() { [false] = [], [true] = [] };

        public async Task TimeAsync(Dictionary<bool, Probe> instances, bool[] order, int calls, CancellationToken ct)
        {
            var cpuBefore = instances.ToDictionary(p => p.Key, p => p.Value.Instance.ReadCpuTime());
            for (var i = 0; i < calls; i++)
            {
                foreach (var telemetry in Alternating(order, i)) _latency[telemetry].Add(await instances[telemetry].CallAsync(ct));
            }

            foreach (var (telemetry, probe) in instances)
            {
                _cpuPerCall[telemetry].Add((probe.Instance.ReadCpuTime() - cpuBefore[telemetry]).TotalMilliseconds / calls);
            }
        }

        public void Report(Report report, string name)
        {
            Compare(report, name + "_median", Stats.Median(_latency[false]), Stats.Median(_latency[true]));
            Compare(report, name + "_p95", Stats.Percentile(_latency[false], 95), Stats.Percentile(_latency[true], 95));
            // Server CPU per timed call (user + system, the export thread included), median over rounds: less exposed
            // than latency to how the two cores are shared between server, storage emulator and bench in each process.
            Compare(report, name + "_server_cpu_per_call", Stats.Median(_cpuPerCall[false]), Stats.Median(_cpuPerCall[true]));
        }
    }

    private static void Compare(Report report, string name, double off, double on)
    {
        report.Milliseconds(name + "_off", off);
        report.Milliseconds(name + "_on", on);
        report.Change(name + "_cost", (on - off) / off * 100);
    }

    /// <summary>An OTLP/HTTP receiver that keeps nothing: reads each request and answers 200 with an empty body.</summary>
    private sealed class OtlpSink : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly Task _serving;
        private int _requests;

        private OtlpSink(HttpListener listener, string url)
        {
            _listener = listener;
            Url = url;
            _serving = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public int Requests => Volatile.Read(ref _requests);

        public static OtlpSink Start()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var url = $"http://127.0.0.1:{port}/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            listener.Start();
            return new OtlpSink(listener, url.TrimEnd('/'));
        }

        public void Dispose()
        {
            _listener.Close();
            try
            {
                _serving.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // Closing the listener ends GetContextAsync with an exception.
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                Interlocked.Increment(ref _requests);
                await context.Request.InputStream.CopyToAsync(Stream.Null);
                context.Response.StatusCode = 200;
                context.Response.ContentLength64 = 0;
                context.Response.Close();
            }
        }
    }
}
