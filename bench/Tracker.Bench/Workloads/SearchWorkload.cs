using System.Diagnostics;
using System.Globalization;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Issue item 5: <c>runs/search</c> latency over a fresh experiment of generated runs (5 params,
/// 5 metrics, 3 tags each). The data is generated from a fixed seed, so the bench knows exactly
/// which runs, in which order, each query must return, and checks every answer against that.
/// </summary>
public static class SearchWorkload
{
    private const int MetricCount = 5;
    private const int SearchPageSize = 1000;
    private const int TopN = 100;

    public static async Task RunAsync(MlflowClient client, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment("search"), ct);
        var runs = GenerateRuns(sizes.SearchRuns);
        await CreateRunsAsync(client, experimentId, runs, sizes.SearchSetupTasks, report, ct);

        // (a) metric + param filter, ordered by another metric.
        var metricParam = new SearchRunsQuery(experimentId, "metrics.m0 > 0.5 and params.p0 = 'v3'", SearchPageSize, ["metrics.m1 DESC"]);
        var metricParamExpected = runs.Where(r => r.Metrics[0] > 0.5 && r.Params[0].Value == "v3")
            .OrderByDescending(r => r.Metrics[1]).Select(r => r.RunId).ToList();
        await TimeOrderedQueryAsync(client, metricParam, metricParamExpected, "search_metric_param_filter", sizes, report, ct);

        // (b) every run, paged the way MlflowClient.search_runs pages.
        await TimeAllPagedAsync(client, experimentId, runs, sizes, report, ct);

        // (c) tag filter, top N by a metric.
        var tagTop = new SearchRunsQuery(experimentId, "tags.t0 = 'group-3'", TopN, ["metrics.m2 ASC"]);
        var tagTopExpected = runs.Where(r => r.Tags[0].Value == "group-3")
            .OrderBy(r => r.Metrics[2]).Take(TopN).Select(r => r.RunId).ToList();
        await TimeOrderedQueryAsync(client, tagTop, tagTopExpected, "search_tag_top100", sizes, report, ct);
    }

    /// <summary>
    /// p0 cycles v0..v9 and t0 is group-((i/10) mod 10), so the filters select 10% of the runs
    /// independently of each other; metrics are uniform in [0,1) so ties are practically impossible
    /// and the expected order is unambiguous. The scale workload seeds its experiments from the same generator.
    /// </summary>
    internal static GeneratedRun[] GenerateRuns(int count, string namePrefix = "search-run")
    {
        var random = new Random(20_251_123);
        string[] learningRates = ["0.1", "0.01", "0.001", "0.0001"];
        string[] batchSizes = ["16", "32", "64", "128"];
        string[] optimizers = ["adam", "sgd", "adamw"];
        return
        [
            .. Enumerable.Range(0, count).Select(i => new GeneratedRun(
                Name: $"{namePrefix}-{i.ToString("D5", CultureInfo.InvariantCulture)}",
                Params:
                [
                    new("p0", $"v{i % 10}"),
                    new("p1", learningRates[i % learningRates.Length]),
                    new("p2", batchSizes[(i / 4) % batchSizes.Length]),
                    new("p3", optimizers[i % optimizers.Length]),
                    new("p4", $"seed-{i}"),
                ],
                Tags:
                [
                    new("t0", $"group-{(i / 10) % 10}"),
                    new("t1", $"owner-{i % 3}"),
                    new("t2", "tracker-bench"),
                ],
                Metrics: [.. Enumerable.Range(0, MetricCount).Select(_ => random.NextDouble())])),
        ];
    }

    /// <summary>Setup, not timed as a figure: runs/create plus one log-batch per run, from several tasks.</summary>
    private static async Task CreateRunsAsync(
        MlflowClient client, string experimentId, GeneratedRun[] runs, int tasks, Report report, CancellationToken ct)
    {
        Report.Progress($"search: creating {runs.Length} runs with {tasks} tasks");
        var next = -1;
        var started = Stopwatch.GetTimestamp();
        await Concurrently.RunAsync(tasks, async (_, token) =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < runs.Length)
            {
                var run = runs[i];
                run.RunId = await client.CreateRunAsync(experimentId, run.Name, token);
                var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var metrics = run.Metrics.Select((value, k) => new MetricPoint($"m{k}", value, timestamp, 0)).ToList();
                await client.LogBatchAsync(WireJson.LogBatch(run.RunId, metrics, run.Params, run.Tags), token);
            }
        }, ct);
        report.Milliseconds("search_setup", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>A single request (first page) whose answer must be exactly <paramref name="expected"/>, in order.</summary>
    private static async Task TimeOrderedQueryAsync(
        MlflowClient client, SearchRunsQuery query, List<string> expected, string name, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        Report.Progress($"search: {name} ({query.Filter}; order by {string.Join(", ", query.OrderBy)}; max_results {query.MaxResults})");
        var milliseconds = new List<double>();
        for (var repetition = 0; repetition < sizes.SearchRepetitions; repetition++)
        {
            var started = Stopwatch.GetTimestamp();
            var page = await client.SearchRunsAsync(query, pageToken: null, ct);
            milliseconds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

            var actual = page.Runs.Select(r => r.RunId).ToList();
            if (!actual.SequenceEqual(expected))
            {
                var firstDifference = Enumerable.Range(0, Math.Min(actual.Count, expected.Count))
                    .FirstOrDefault(i => actual[i] != expected[i], Math.Min(actual.Count, expected.Count));
                throw new BenchException(
                    $"{name}: expected {expected.Count} runs in a known order, got {actual.Count}; first difference at position {firstDifference}");
            }
        }

        report.Milliseconds($"{name}_median", Stats.Median(milliseconds));
        report.Count($"{name}_count", expected.Count, "runs");
    }

    private static async Task TimeAllPagedAsync(
        MlflowClient client, string experimentId, GeneratedRun[] runs, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        Report.Progress($"search: all {runs.Length} runs in pages of {SearchPageSize}");
        var query = new SearchRunsQuery(experimentId, "", SearchPageSize, []);
        var expected = runs.Select(r => r.RunId).ToHashSet();
        // MLflow hands out a token whenever a page is full, so one extra (empty) page is normal.
        var maxPages = (runs.Length / SearchPageSize) + 2;
        var milliseconds = new List<double>();
        var pages = 0;
        for (var repetition = 0; repetition < sizes.SearchRepetitions; repetition++)
        {
            var seen = new List<string>(runs.Length);
            string? token = null;
            pages = 0;
            var started = Stopwatch.GetTimestamp();
            do
            {
                if (++pages > maxPages)
                {
                    throw new BenchException($"search_all_paged: still paging after {maxPages} pages ({seen.Count} runs so far)");
                }

                var page = await client.SearchRunsAsync(query, token, ct);
                seen.AddRange(page.Runs.Select(r => r.RunId));
                token = page.NextPageToken;
            }
            while (token is not null);
            milliseconds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

            if (seen.Count != expected.Count || !expected.SetEquals(seen))
            {
                throw new BenchException(
                    $"search_all_paged: expected the {expected.Count} runs created, got {seen.Count} ({seen.Distinct().Count()} distinct, {seen.Count(expected.Contains)} of ours)");
            }
        }

        report.Milliseconds("search_all_paged_median", Stats.Median(milliseconds));
        report.Count("search_all_paged_count", expected.Count, "runs");
        report.Count("search_all_paged_pages", pages, "pages");
    }

    /// <summary>A run as generated; <see cref="RunId"/> is filled in once the server has created it.</summary>
    internal sealed record GeneratedRun(string Name, KeyValue[] Params, KeyValue[] Tags, double[] Metrics)
    {
        public string RunId { get; set; } = "";
    }
}
