using System.Diagnostics;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Artifact bytes, one large file per case: through the server (MLflow's artifact proxy) and straight to Blob
/// Storage (Tracker's signed URLs, and MLflow's multipart upload, whose parts also go straight to storage). Each case
/// reports MB/s and, for a launched server, what it cost the server: CPU time and peak resident memory during the
/// case. The question is whether the direct paths cost the server nothing per byte, and whether streaming through it
/// keeps its memory flat — so the proxied upload also runs at a quarter of the size, for comparison.
/// </summary>
public static class ArtifactTransferWorkload
{
    /// <summary>MLflow's MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE default.</summary>
    public const int MultipartPartBytes = 10 * 1024 * 1024;

    /// <summary>MLflow's artifact thread pool, min(2 × CPUs, 20), on the 2-core machine the figures come from.</summary>
    public const int MultipartWorkers = 4;

    public const string RedirectSetting = "Tracker__Artifacts__RedirectDownloadsFromBytes";

    private const double Megabyte = 1024 * 1024;
    private const int WarmupBytes = 1024 * 1024;

    public static async Task RunAsync(
        MlflowClient client, ArtifactClient artifacts, LaunchedServer? server, HttpClient http,
        WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        var size = sizes.ArtifactMegabytes * 1024L * 1024;
        var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment("artifacts"), ct);
        var run = new ArtifactRun(experimentId, await client.CreateRunAsync(experimentId, "artifact-transfer", ct));

        // Untimed: the first of each call compiles the server's code paths, opens connections and creates the
        // container; it also finds out which of the optional APIs the server has.
        Report.Progress("artifacts: warm-up (1 MB each way, every path)");
        var warmup = new GeneratedContent(seed: 1, WarmupBytes);
        await artifacts.ProxyUploadAsync(run, "warmup-proxy.bin", warmup, ct);
        await artifacts.ProxyDownloadAsync(run, "warmup-proxy.bin", warmup, ct);
        var signedUrls = await WarmUpSignedUrlsAsync(artifacts, run, ct);
        var warmupParts = new GeneratedContent(seed: 2, WarmupBytes);
        var multipart = await UploadMultipartAsync(artifacts, run, "warmup-mpu.bin", warmupParts, ct);
        if (multipart)
        {
            await VerifyStoredAsync(artifacts, run, "warmup-mpu.bin", warmupParts, signedUrls, ct);
            await artifacts.DeleteAsync(run, "warmup-mpu.bin", ct);
        }

        if (server is not null)
        {
            Report.Progress(server.ResetPeakMemory()
                ? $"artifacts: server peak memory per case = VmHWM after a reset (clear_refs), and VmRSS sampled every {ServerUsageProbe.SampleInterval.TotalMilliseconds:F0} ms"
                : $"artifacts: VmHWM cannot be reset here; server peak memory per case = VmRSS sampled every {ServerUsageProbe.SampleInterval.TotalMilliseconds:F0} ms");
        }

        // 1. Proxied upload at a quarter of the size and at the full size: the two peaks should match.
        var small = new GeneratedContent(seed: 3, size / 4);
        await MeasureAsync("artifact_proxy_upload_small", small.Length, server, report,
            () => artifacts.ProxyUploadAsync(run, "proxy-small.bin", small, ct), ct);
        await VerifyStoredAsync(artifacts, run, "proxy-small.bin", small, signedUrls, ct);
        await artifacts.DeleteAsync(run, "proxy-small.bin", ct);

        var large = new GeneratedContent(seed: 4, size);
        await MeasureAsync("artifact_proxy_upload", large.Length, server, report,
            () => artifacts.ProxyUploadAsync(run, "proxy.bin", large, ct), ct);

        // 2. Proxied download, in whichever mode the server is in; then, with --launch, in the other mode.
        await ProxyDownloadBothModesAsync(artifacts, run, large, warmup, server, http, report, ct);
        await artifacts.DeleteAsync(run, "proxy.bin", ct);

        // 3, 4. Signed URLs: one small call to the server each, the bytes straight to and from storage.
        var direct = new GeneratedContent(seed: 5, size);
        if (signedUrls)
        {
            await MeasureAsync("artifact_sas_upload", direct.Length, server, report, async () =>
            {
                var url = await artifacts.TryUploadUrlAsync(run, "sas.bin", ct) ?? throw Vanished("upload-url");
                await artifacts.PutAsync(url, direct, 0, direct.Length, ct);
            }, ct);
            await MeasureAsync("artifact_sas_download", direct.Length, server, report, async () =>
            {
                var url = await artifacts.TryDownloadUrlAsync(run, "sas.bin", ct) ?? throw Vanished("download-url");
                await artifacts.GetAsync(url, direct, ct);
            }, ct);
            await artifacts.DeleteAsync(run, "sas.bin", ct);
        }
        else
        {
            Report.Progress("artifacts: the server has no /api/2.0/tracker/artifacts API; signed-URL figures are n/a");
            NotAvailable(report, "artifact_sas_upload");
            NotAvailable(report, "artifact_sas_download");
        }

        // 5. Multipart, as the MLflow client uploads large files: parts in parallel, straight to storage.
        if (multipart)
        {
            var parted = new GeneratedContent(seed: 6, size);
            await MeasureAsync("artifact_mpu_upload", parted.Length, server, report,
                () => UploadMultipartAsync(artifacts, run, "mpu.bin", parted, ct), ct);
            await VerifyStoredAsync(artifacts, run, "mpu.bin", parted, signedUrls, ct);
            await artifacts.DeleteAsync(run, "mpu.bin", ct);
        }
        else
        {
            Report.Progress("artifacts: the server has no multipart upload here (mpu/create unsupported); figures are n/a");
            NotAvailable(report, "artifact_mpu_upload");
        }

        await artifacts.DeleteAsync(run, "warmup-proxy.bin", ct);
    }

    private static async Task ProxyDownloadBothModesAsync(
        ArtifactClient artifacts, ArtifactRun run, GeneratedContent large, GeneratedContent warmup,
        LaunchedServer? server, HttpClient http, Report report, CancellationToken ct)
    {
        var redirected = false;
        var first = await MeasureAsync(null, large.Length, server, report, async () =>
            redirected = await artifacts.ProxyDownloadAsync(run, "proxy.bin", large, ct), ct);
        var measured = new Dictionary<bool, Measured> { [redirected] = first };
        Report.Progress($"artifacts: the server {(redirected ? "redirected the download to storage" : "streamed the download itself")}");

        if (server is not null)
        {
            // The same storage behind a second instance set to the other mode, so one run reports both.
            var otherMode = redirected ? "-1" : "0";
            Report.Progress($"artifacts: launching a second server with {RedirectSetting}={otherMode}");
            using var sibling = await server.StartSiblingAsync([new(RedirectSetting, otherMode)], http, ct);
            var siblingArtifacts = artifacts.WithBaseUrl(sibling.BaseUrl);
            await siblingArtifacts.ProxyDownloadAsync(run, "warmup-proxy.bin", warmup, ct);
            var siblingRedirected = false;
            var second = await MeasureAsync(null, large.Length, sibling, report, async () =>
                siblingRedirected = await siblingArtifacts.ProxyDownloadAsync(run, "proxy.bin", large, ct), ct);
            if (siblingRedirected == redirected)
            {
                throw new BenchException($"the second server, with {RedirectSetting}={otherMode}, downloaded in the same mode as the first");
            }

            measured[siblingRedirected] = second;
        }

        foreach (var (mode, prefix) in new[] { (true, "artifact_proxy_download_redirect"), (false, "artifact_proxy_download_streamed") })
        {
            if (measured.TryGetValue(mode, out var m))
            {
                Print(report, prefix, m);
            }
            else
            {
                NotAvailable(report, prefix);
            }
        }
    }

    /// <summary>One signed-URL round trip on a small file; false if the server has no signed-URL API.</summary>
    private static async Task<bool> WarmUpSignedUrlsAsync(ArtifactClient artifacts, ArtifactRun run, CancellationToken ct)
    {
        var content = new GeneratedContent(seed: 7, WarmupBytes);
        if (await artifacts.TryUploadUrlAsync(run, "warmup-sas.bin", ct) is not { } upload)
        {
            return false;
        }

        await artifacts.PutAsync(upload, content, 0, content.Length, ct);
        var download = await artifacts.TryDownloadUrlAsync(run, "warmup-sas.bin", ct) ?? throw Vanished("download-url");
        await artifacts.GetAsync(download, content, ct);
        await artifacts.DeleteAsync(run, "warmup-sas.bin", ct);
        return true;
    }

    /// <summary>
    /// MLflow's multipart flow: create (one URL per 10 MiB part), PUT the parts from <see cref="MultipartWorkers"/>
    /// workers, complete. False if the server cannot do multipart uploads.
    /// </summary>
    private static async Task<bool> UploadMultipartAsync(ArtifactClient artifacts, ArtifactRun run, string fileName, GeneratedContent content, CancellationToken ct)
    {
        var numParts = (int)((content.Length + MultipartPartBytes - 1) / MultipartPartBytes);
        if (await artifacts.TryCreateMultipartAsync(run, fileName, numParts, ct) is not { } ticket)
        {
            return false;
        }

        var etags = new string?[numParts];
        var next = -1;
        await Concurrently.RunAsync(Math.Min(MultipartWorkers, numParts), async (_, token) =>
        {
            int part;
            while ((part = Interlocked.Increment(ref next)) < numParts)
            {
                var offset = (long)part * MultipartPartBytes;
                etags[part] = await artifacts.PutAsync(ticket.Parts[part], content, offset, Math.Min(MultipartPartBytes, content.Length - offset), token);
            }
        }, ct);
        await artifacts.CompleteMultipartAsync(run, fileName, ticket, etags, ct);
        return true;
    }

    /// <summary>Untimed: reads a stored file back (straight from storage where possible) and checks every byte.</summary>
    private static async Task VerifyStoredAsync(
        ArtifactClient artifacts, ArtifactRun run, string path, GeneratedContent content, bool signedUrls, CancellationToken ct)
    {
        Report.Progress($"artifacts: checking {path} ({content.Length / Megabyte:F0} MB)");
        if (signedUrls)
        {
            await artifacts.GetAsync(await artifacts.TryDownloadUrlAsync(run, path, ct) ?? throw Vanished("download-url"), content, ct);
        }
        else
        {
            await artifacts.ProxyDownloadAsync(run, path, content, ct);
        }
    }

    /// <summary>Times one case and watches the server meanwhile; prints its figures when a name is given.</summary>
    private static async Task<Measured> MeasureAsync(string? name, long bytes, LaunchedServer? server, Report report, Func<Task> transfer, CancellationToken ct)
    {
        var settled = await ServerUsageProbe.WaitForQuietAsync(server, ct);
        Report.Progress($"artifacts: {name ?? "proxy download"}, {bytes / Megabyte:F0} MB (server quiet after {settled.TotalMilliseconds:F0} ms)");
        var probe = ServerUsageProbe.Start(server);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await transfer();
        }
        catch when (probe is not null)
        {
            await probe.StopAsync();
            throw;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var measured = new Measured(bytes, elapsed, probe is null ? null : await probe.StopAsync());
        if (name is not null)
        {
            Print(report, name, measured);
        }

        return measured;
    }

    private static void Print(Report report, string name, Measured m)
    {
        report.Figure($"{name}_throughput", m.Bytes / Megabyte / m.Elapsed.TotalSeconds, "MB/s", "F1");
        if (m.Server is { } usage)
        {
            report.Figure($"{name}_server_cpu", usage.Cpu.TotalMilliseconds, "ms", "F0");
            report.Figure($"{name}_server_rss_before", usage.ResidentBeforeMegabytes, "MB", "F1");
            report.Figure($"{name}_server_rss_peak", usage.PeakResidentMegabytes, "MB", "F1");
        }
        else
        {
            report.NotAvailable($"{name}_server_cpu");
            report.NotAvailable($"{name}_server_rss_before");
            report.NotAvailable($"{name}_server_rss_peak");
        }
    }

    private static void NotAvailable(Report report, string name)
    {
        foreach (var figure in new[] { "throughput", "server_cpu", "server_rss_before", "server_rss_peak" })
        {
            report.NotAvailable($"{name}_{figure}");
        }
    }

    private static BenchException Vanished(string endpoint) =>
        new($"{endpoint}: the server answered as if it had no signed-URL API, after the warm-up used it");

    private readonly record struct Measured(long Bytes, TimeSpan Elapsed, ServerUsage? Server);
}
