using System.Diagnostics;
using System.Net;
using System.Text;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Purge throughput (issue 10's benchmark): runs with many small artifacts each are deleted, and the bench times from
/// the first <c>runs/delete</c> until every run is purged, through the real lifecycle queue: a sibling of the launched
/// executable runs in local mode (no Functions host, so its own poller consumes the queue) with retention 0 and a queue
/// prefix of its own. A purge replaces the run row with its tombstone last, after the files and rows are gone, so a
/// run whose <c>runs/get</c> answers 404 has no blobs left. Figures: blobs, time, blobs per second.
/// </summary>
public static class PurgeWorkload
{
    private const int UploadWorkers = 16;
    private const int FileBytes = 256;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public static async Task RunAsync(LaunchedServer server, HttpClient http, HttpClient transfers, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        IReadOnlyList<KeyValuePair<string, string>> overrides =
        [
            new("Tracker__Auth__Disabled", "true"),
            new("Tracker__Triggers__LocalPolling", "true"),
            new("Tracker__Triggers__MaxPollingInterval", "00:00:00.100"),
            new("Tracker__Lifecycle__DeletedRetentionDays", "0"),
            new("Tracker__Storage__QueuePrefix", "bench" + Guid.NewGuid().ToString("N")[..8] + "-"),
        ];
        using var instance = await server.StartSiblingAsync(overrides, http, ct, functionsHost: false);
        var client = new MlflowClient(http, instance.BaseUrl);
        var artifacts = new ArtifactClient(http, transfers, instance.BaseUrl);
        var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment("purge"), ct);
        var runs = new List<ArtifactRun>();
        for (var i = 0; i < sizes.PurgeRuns; i++)
        {
            runs.Add(new ArtifactRun(experimentId, await client.CreateRunAsync(experimentId, $"purge-{i}", ct)));
        }

        var total = sizes.PurgeRuns * sizes.PurgeFilesPerRun;
        Report.Progress($"purge: uploading {sizes.PurgeRuns} runs x {sizes.PurgeFilesPerRun} files of {FileBytes} bytes");
        var content = new GeneratedContent(7, FileBytes);
        var next = -1;
        await Concurrently.RunAsync(UploadWorkers, async (_, token) =>
        {
            for (var i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
            {
                await artifacts.ProxyUploadAsync(runs[i / sizes.PurgeFilesPerRun], $"files/f{i % sizes.PurgeFilesPerRun:D5}.bin", content, token);
            }
        }, ct);

        Report.Progress($"purge: deleting {runs.Count} runs and waiting until each is purged");
        var started = Stopwatch.GetTimestamp();
        foreach (var run in runs)
        {
            await client.CallAsync(HttpMethod.Post, "runs/delete", ct, body: Encoding.UTF8.GetBytes($$"""{"run_id":"{{run.RunId}}"}"""));
        }

        var pending = runs.Select(r => r.RunId).ToHashSet();
        while (pending.Count > 0)
        {
            foreach (var runId in pending.ToList())
            {
                if (await IsGoneAsync(http, instance.BaseUrl, runId, ct))
                {
                    pending.Remove(runId);
                }
            }

            if (pending.Count > 0)
            {
                await Task.Delay(PollInterval, ct);
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        report.Count("purge_blobs", total, "blobs");
        report.Duration("purge_delete_to_gone", elapsed);
        report.Figure("purge_throughput", total / elapsed.TotalSeconds, "blobs/s", "F0");
    }

    /// <summary>404 once the run is purged; 200 while it is deleted but not yet purged; anything else fails the bench.</summary>
    private static async Task<bool> IsGoneAsync(HttpClient http, string baseUrl, string runId, CancellationToken ct)
    {
        var url = $"{baseUrl}/api/2.0/mlflow/runs/get?run_id={runId}";
        using var response = await http.GetAsync(url, ct);
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound)
        {
            return response.StatusCode == HttpStatusCode.NotFound;
        }

        throw BenchHttp.Failure(HttpMethod.Get, url, response, await response.Content.ReadAsByteArrayAsync(ct));
    }
}
