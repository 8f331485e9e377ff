using Tracker.Bench;
using Tracker.Bench.Workloads;

// Table of contents: parse the command line, reach (or launch) the server, run the workloads in
// order, print one figure per line. Each workload prints its own figures as soon as it has them.
var options = BenchOptions.Parse(args, Console.Error);
if (options is null)
{
    return BenchOptions.UsageExitCode;
}

using var cancellation = new BenchCancellation(options.TimeLimit);
using var http = BenchHttp.CreateClient();
using var transfers = BenchHttp.CreateTransferClient();
var report = new Report(Console.Out);
LaunchedServer? server = null;
try
{
    var ct = cancellation.Token;
    if (options.LaunchExecutable is not null)
    {
        server = await LaunchedServer.StartAsync(options.LaunchExecutable, options.ChildEnvironment, http, ct);
    }

    var baseUrl = server?.BaseUrl ?? options.TargetUrl!;
    // A launched Tracker runs as under the Functions host, where auth is always on: the bench signs in as a user of its
    // own (not an admin, so the permission checks are in every figure), made by the executable's admin command.
    var token = options.Token ?? (server is null ? null : await server.CreateBenchTokenAsync(ct));
    var client = new MlflowClient(http, baseUrl, token);
    await client.CheckHealthAsync(ct);
    var sizes = WorkloadSizes.For(options);
    report.Header(options, sizes, client.BaseUrl);
    report.Duration("startup_to_first_response", server?.StartupToFirstResponse);

    var experimentId = options.Runs(BenchWorkload.LogBatch) || options.Runs(BenchWorkload.LogMetric) || options.Runs(BenchWorkload.MetricHistory)
        ? await client.CreateExperimentAsync(BenchNames.Experiment("throughput"), ct)
        : null;

    if (options.Runs(BenchWorkload.LogBatch))
    {
        await LogBatchWorkload.RunSequentialAsync(client, experimentId!, sizes, report, ct);
        await LogBatchWorkload.RunConcurrentAsync(client, experimentId!, sizes, options.SameRun, report, ct);
    }

    if (options.Runs(BenchWorkload.LogMetric))
    {
        await LogMetricLatencyWorkload.RunAsync(client, experimentId!, sizes, report, ct);
    }

    if (options.Runs(BenchWorkload.MetricHistory))
    {
        await MetricHistoryWorkload.RunAsync(client, experimentId!, sizes, report, ct);
    }

    if (options.Runs(BenchWorkload.Search))
    {
        await SearchWorkload.RunAsync(client, sizes, report, ct);
    }

    if (options.Runs(BenchWorkload.Registry))
    {
        await RegistryWorkload.RunAsync(client, sizes, report, ct);
    }

    if (server is not null && (options.Runs(BenchWorkload.LogBatch) || options.Runs(BenchWorkload.LogMetric) || options.Runs(BenchWorkload.MetricHistory) || options.Runs(BenchWorkload.Search) || options.Runs(BenchWorkload.Registry)))
    {
        report.MemoryAfterStandardWorkloads(server.ReadMemory(), server.ReadResidentBreakdown());
        // A serverless instance spends most of its life between bursts: the same figure once it has been idle a while.
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        report.MemoryAfterStandardWorkloads(server.ReadMemory(), server.ReadResidentBreakdown(), idle: true);
    }

    if (options.Runs(BenchWorkload.Artifacts))
    {
        await ArtifactTransferWorkload.RunAsync(client, new ArtifactClient(http, transfers, baseUrl, token), server, http, sizes, report, ct);
    }

    if (options.Runs(BenchWorkload.Fuzz))
    {
        await FuzzWorkload.RunAsync(client, server, http, options.Quick, report, ct);
    }

    if (options.Runs(BenchWorkload.Telemetry))
    {
        await TelemetryCostWorkload.RunAsync(server!, http, token, options.Quick, report, ct);
    }

    if (options.Runs(BenchWorkload.Auth))
    {
        await AuthCostWorkload.RunAsync(server!, http, options.Quick, report, ct);
    }

    if (options.Runs(BenchWorkload.Promotion))
    {
        await PromotionLatencyWorkload.RunAsync(server!, http, token, report, ct);
    }

    if (options.Runs(BenchWorkload.Purge))
    {
        await PurgeWorkload.RunAsync(server!, http, transfers, sizes, report, ct);
    }

    if (options.Runs(BenchWorkload.Scale))
    {
        await ScaleWorkload.RunAsync(client, server!, http, sizes, report, ct);
    }

    report.Memory(server?.ReadMemory());
    return 0;
}
catch (OperationCanceledException) when (cancellation.Token.IsCancellationRequested)
{
    Console.Error.WriteLine(cancellation.TimedOut
        ? $"error: bench exceeded its time limit of {options.TimeLimit.TotalMinutes:F0} minutes"
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
