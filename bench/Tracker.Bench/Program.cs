using Tracker.Bench;
using Tracker.Bench.Workloads;

// Table of contents: parse the command line, reach (or launch) the server, run the workloads in
// order, print one figure per line. Each workload prints its own figures as soon as it has them.
var options = BenchOptions.Parse(args, Console.Error);
if (options is null)
{
    return BenchOptions.UsageExitCode;
}

using var cancellation = new BenchCancellation(BenchOptions.HardTimeLimit);
using var http = BenchHttp.CreateClient();
var report = new Report(Console.Out);
LaunchedServer? server = null;
try
{
    var ct = cancellation.Token;
    if (options.LaunchExecutable is not null)
    {
        server = await LaunchedServer.StartAsync(options.LaunchExecutable, options.ChildEnvironment, http, ct);
    }

    var client = new MlflowClient(http, server?.BaseUrl ?? options.TargetUrl!);
    await client.CheckHealthAsync(ct);
    var sizes = WorkloadSizes.For(options.Quick);
    report.Header(options, sizes, client.BaseUrl);
    report.Duration("startup_to_first_response", server?.StartupToFirstResponse);

    var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment("throughput"), ct);

    await LogBatchWorkload.RunSequentialAsync(client, experimentId, sizes, report, ct);
    await LogBatchWorkload.RunConcurrentAsync(client, experimentId, sizes, options.SameRun, report, ct);
    await LogMetricLatencyWorkload.RunAsync(client, experimentId, sizes, report, ct);
    await MetricHistoryWorkload.RunAsync(client, experimentId, sizes, report, ct);
    await SearchWorkload.RunAsync(client, sizes, report, ct);

    report.Memory(server?.ReadMemory());
    return 0;
}
catch (OperationCanceledException) when (cancellation.Token.IsCancellationRequested)
{
    Console.Error.WriteLine(cancellation.TimedOut
        ? $"error: bench exceeded its time limit of {BenchOptions.HardTimeLimit.TotalMinutes:F0} minutes"
        : "error: interrupted");
    server?.WriteRecentOutput(Console.Error);
    return cancellation.TimedOut ? 1 : 130;
}
catch (Exception e) when (e is BenchException or HttpRequestException or TaskCanceledException)
{
    // TaskCanceledException without our token being cancelled is HttpClient's per-request timeout.
    Console.Error.WriteLine($"error: {e.Message}");
    server?.WriteRecentOutput(Console.Error);
    return 1;
}
finally
{
    server?.Dispose();
}
