using System.Diagnostics;
using System.Globalization;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Issue 10's promotion figure: time from <c>promotions/create</c> answering 202 to <c>promotions/get</c> showing
/// <c>succeeded</c>, in local mode (a sibling server with no Functions host and local polling on, so its own queue
/// poller runs the PromoteModel handler), median of 20. Each promotion takes a new version of one model to Production
/// through the regression gate (<c>val_loss</c>, lower is better, at most 5 % worse than the holder), archiving the
/// previous one, so every request does the whole work: two metric reads, the gate, one registry transaction.
/// </summary>
public static class PromotionLatencyWorkload
{
    private const int Promotions = 20;
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);

    public static async Task RunAsync(LaunchedServer server, HttpClient http, string? token, Report report, CancellationToken ct)
    {
        using var local = await server.StartSiblingAsync([new("Tracker__Triggers__LocalPolling", "true")], http, ct, functionsHost: false);
        var client = new MlflowClient(http, local.BaseUrl, token);
        var prefix = BenchNames.Experiment("promotion");
        var experimentId = await client.CreateExperimentAsync(prefix, ct);
        var name = prefix + "-model";
        await client.CallAsync(HttpMethod.Post, "registered-models/create", ct, body: WireJson.Object(w => w.WriteString("name", name)));
        // Each version's run logs a slightly better val_loss than the last, so every gate passes.
        var milliseconds = new List<double>();
        for (var i = 0; i <= Promotions; i++)
        {
            var runId = await client.CreateRunAsync(experimentId, $"candidate-{i}", ct);
            await client.LogMetricAsync(runId, new MetricPoint("val_loss", 1.0 - i * 0.01, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0), ct);
            var (created, _, _) = await client.CallAsync(HttpMethod.Post, "model-versions/create", ct, body: WireJson.Object(w =>
            {
                w.WriteString("name", name);
                w.WriteString("source", $"runs:/{runId}/model");
                w.WriteString("run_id", runId);
            }));
            var version = created.GetProperty("model_version").GetProperty("version").GetString()!;
            if (i == 0)
            {
                // The first holder of Production, put there directly: the gate needs a baseline.
                await client.CallAsync(HttpMethod.Post, "model-versions/transition-stage", ct, body: WireJson.Object(w =>
                {
                    w.WriteString("name", name);
                    w.WriteString("version", version);
                    w.WriteString("stage", "Production");
                    w.WriteBoolean("archive_existing_versions", true);
                }));
                continue;
            }

            Report.Progress($"promotion {i}/{Promotions}: {name} version {version} to Production");
            var started = Stopwatch.GetTimestamp();
            var (requested, _, _) = await client.CallAsync(HttpMethod.Post, "promotions/create", ct, api: "api/2.0/tracker", body: WireJson.Object(w =>
            {
                w.WriteString("name", name);
                w.WriteString("version", version);
                w.WriteStartObject("target");
                w.WriteString("stage", "Production");
                w.WriteEndObject();
                w.WriteBoolean("archive_existing", true);
                w.WriteStartObject("gate");
                w.WriteString("metric", "val_loss");
                w.WriteString("direction", "lower_is_better");
                w.WriteNumber("max_regression", 0.05);
                w.WriteEndObject();
            }));
            var id = requested.GetProperty("promotion").GetProperty("id").GetString()!;
            while (true)
            {
                var (answer, _, _) = await client.CallAsync(HttpMethod.Get, "promotions/get", ct, api: "api/2.0/tracker",
                    query: "id=" + Uri.EscapeDataString(id));
                var status = answer.GetProperty("promotion").GetProperty("status").GetString();
                if (status == "succeeded") break;
                if (status != "pending")
                {
                    throw new BenchException($"promotion {id} ended {status}: {answer}");
                }

                if (Stopwatch.GetElapsedTime(started) > GiveUpAfter)
                {
                    throw new BenchException($"promotion {id} still pending after {GiveUpAfter.TotalSeconds:F0} s");
                }

                await Task.Delay(PollEvery, ct);
            }

            milliseconds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        report.Milliseconds("promotion_create_to_succeeded_median", Stats.Median(milliseconds));
        report.Milliseconds("promotion_create_to_succeeded_max", milliseconds.Max());
        report.Count("promotion_count", milliseconds.Count, "promotions");
    }
}
