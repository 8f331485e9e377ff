using System.Globalization;
using Tracker.Bench.Workloads;

namespace Tracker.Bench;

/// <summary>
/// Prints figures as <c>name: value unit</c>, one per line, so runs against Tracker and MLflow can
/// be compared with grep. A figure that does not apply to the target prints <c>name: n/a</c>.
/// The header line starts with '#' so it never matches a figure name.
/// </summary>
public sealed class Report(TextWriter output)
{
    public void Header(BenchOptions options, WorkloadSizes sizes, string baseUrl)
    {
        var concurrentLayout = options.SameRun ? "all on one run" : "one run each";
        var parts = new List<string> { $"# tracker-bench target={baseUrl} mode={sizes.Mode} launch={options.LaunchExecutable ?? "no"}" };
        if (options.Runs(BenchWorkload.LogBatch))
        {
            parts.Add($"log-batch sequential: {sizes.SequentialBatchCalls} calls x 1000 points (10 keys x 100 steps)");
            parts.Add($"log-batch concurrent: {sizes.ConcurrentWriters} writers ({concurrentLayout}) x {sizes.CallsPerWriter} calls x 1000 points");
        }

        if (options.Runs(BenchWorkload.LogMetric))
        {
            parts.Add($"log-metric: {sizes.LogMetricCalls} calls after {sizes.LogMetricWarmupCalls} warm-up");
        }

        if (options.Runs(BenchWorkload.MetricHistory))
        {
            parts.Add($"get-history: {sizes.HistorySteps} steps, max_results=25000, median of {sizes.HistoryReads} reads");
        }

        if (options.Runs(BenchWorkload.Search))
        {
            parts.Add($"search: {sizes.SearchRuns} runs (5 params, 5 metrics, 3 tags), median of {sizes.SearchRepetitions}");
        }

        if (options.Runs(BenchWorkload.Registry))
        {
            parts.Add($"registry: {sizes.RegisteredModels} models, {sizes.ModelVersions} versions, median of {Math.Max(5, sizes.SearchRepetitions)}");
        }

        if (options.Runs(BenchWorkload.Artifacts))
        {
            parts.Add($"artifacts: {sizes.ArtifactMegabytes} MB files (proxied upload also {sizes.ArtifactMegabytes / 4.0:0.##} MB)," +
                $" multipart {ArtifactTransferWorkload.MultipartPartBytes >> 20} MB parts x {ArtifactTransferWorkload.MultipartWorkers} at once");
        }

        if (options.Runs(BenchWorkload.Fuzz))
        {
            parts.Add("fuzz: seeded hostile requests against a capped heap");
        }

        if (options.Runs(BenchWorkload.Telemetry))
        {
            parts.Add("telemetry: sibling servers, OTLP off vs on");
        }

        if (options.Runs(BenchWorkload.Scale))
        {
            parts.Add($"scale: experiments of {string.Join(", ", sizes.ScaleRuns)} runs (5 params, 5 metrics, 3 tags), " +
                      $"{ScaleWorkload.SeedWorkers} seeding calls in flight, filtered search median of {ScaleWorkload.FilteredRepetitions}, " +
                      $"paged listing {ScaleWorkload.ListingPageSize} per page, first search in a fresh sibling");
        }

        output.WriteLine(string.Join(" | ", parts));
    }

    public void Figure(string name, double value, string unit, string format = "F2") =>
        output.WriteLine($"{name}: {value.ToString(format, CultureInfo.InvariantCulture)} {unit}");

    /// <summary>A relative change in percent with its sign ("+3.1 %", "-0.4 %"); rounded first, so a change that rounds
    /// to nothing prints "+0.0" rather than a signed negative zero.</summary>
    public void Change(string name, double percent) => Figure(name, Math.Round(percent, 1) + 0.0, "%", "+0.0;-0.0;+0.0");

    public void Count(string name, long value, string unit) =>
        output.WriteLine($"{name}: {value.ToString(CultureInfo.InvariantCulture)} {unit}");

    public void Milliseconds(string name, double milliseconds) => Figure(name, milliseconds, "ms");

    public void Duration(string name, TimeSpan? duration)
    {
        if (duration is { } d)
        {
            Milliseconds(name, d.TotalMilliseconds);
        }
        else
        {
            NotAvailable(name);
        }
    }

    public void Text(string name, string value) => output.WriteLine($"{name}: {value}");

    public void NotAvailable(string name) => output.WriteLine($"{name}: n/a");

    /// <summary>
    /// VmRSS right after the standard workloads (log-batch … search), before the artifact transfers; with
    /// <paramref name="idle"/>, after the server has then been idle for 3 s (<c>_idle</c> figures).
    /// </summary>
    public void MemoryAfterStandardWorkloads(ServerMemory? memory, (double Anonymous, double FileBacked)? breakdown, bool idle = false)
    {
        var name = idle ? "server_rss_after_standard_idle" : "server_rss_after_standard";
        if (memory is { } m && breakdown is { } b)
        {
            Figure(name, m.ResidentMegabytes, "MB", "F1");
            Figure(name + "_anon", b.Anonymous, "MB", "F1");
            Figure(name + "_file", b.FileBacked, "MB", "F1");
        }
        else
        {
            NotAvailable(name);
        }
    }

    public void Memory(ServerMemory? memory)
    {
        if (memory is { } m)
        {
            Figure("server_rss", m.ResidentMegabytes, "MB", "F1");
            Figure("server_rss_peak", m.PeakResidentMegabytes, "MB", "F1");
        }
        else
        {
            NotAvailable("server_rss");
            NotAvailable("server_rss_peak");
        }
    }

    /// <summary>Progress goes to stderr so stdout holds nothing but the header and figures.</summary>
    public static void Progress(string message) => Console.Error.WriteLine($".. {message}");
}
