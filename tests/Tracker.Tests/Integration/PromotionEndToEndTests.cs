using System.Net;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Issue 10's promotion end to end in local mode: <c>promotions/create</c> over HTTP, the message on the real queue in
/// Azurite, the local poller delivering it to the same consumer the PromoteModel trigger calls, and the outcome read back
/// through the promotion API and the ordinary registry API. The seeds' scenario: a candidate whose val_loss is more than
/// 5 % worse than Production's is rejected with both figures; a better one succeeds and the previous Production version
/// is Archived.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PromotionEndToEndTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Promotions = "/api/2.0/tracker/promotions/";
    private readonly TrackerApp _app = new(azurite, settings: new Dictionary<string, string>
    {
        ["Tracker:Storage:QueuePrefix"] = "e" + Guid.NewGuid().ToString("N")[..10] + "-",
        ["Tracker:Triggers:LocalPolling"] = "true",
        ["Tracker:Triggers:VisibilityTimeout"] = "00:00:00",
        ["Tracker:Triggers:MaxPollingInterval"] = "00:00:00.200",
    });

    public void Dispose() => _app.Dispose();

    private async Task<JsonNode> SendAsync(HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = ArtifactClient.Json(body);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private async Task<string> RunWithValLossAsync(string experimentId, double valLoss)
    {
        var run = (string)(await SendAsync(HttpMethod.Post, Api + "runs/create", new { experiment_id = experimentId, start_time = 1 }))["run"]!["info"]!["run_id"]!;
        await SendAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = run, key = "val_loss", value = valLoss, timestamp = 1, step = 0 });
        return run;
    }

    private async Task<JsonNode> PromoteAndWaitAsync(string model, int version)
    {
        var created = await SendAsync(HttpMethod.Post, Promotions + "create", new
        {
            name = model,
            version = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            target = new { stage = "Production" },
            gate = new { metric = "val_loss", direction = "lower_is_better", max_regression = 0.05 },
        }, HttpStatusCode.Accepted);
        var id = (string)created["promotion"]!["id"]!;
        Assert.Equal("pending", (string?)created["promotion"]!["status"]);
        // The poller polls every 200 ms at most; 60 s covers a slow machine, and a hang fails here rather than later.
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var promotion = (await SendAsync(HttpMethod.Get, $"{Promotions}get?id={id}"))["promotion"]!;
            if ((string?)promotion["status"] != "pending") return promotion;
            await Task.Delay(200);
        }
        throw new TimeoutException($"promotion {id} stayed pending");
    }

    [Fact]
    public async Task AWorseCandidateIsRejectedWithItsFiguresAndABetterOneReplacesProduction()
    {
        var experimentId = (string)(await SendAsync(HttpMethod.Post, Api + "experiments/create", new { name = "promo-e2e-" + Guid.NewGuid().ToString("N") }))["experiment_id"]!;
        var model = "promo-e2e-" + Guid.NewGuid().ToString("N");
        await SendAsync(HttpMethod.Post, Api + "registered-models/create", new { name = model });
        foreach (var valLoss in new[] { 0.30, 0.32, 0.28 })
        {
            var run = await RunWithValLossAsync(experimentId, valLoss);
            await SendAsync(HttpMethod.Post, Api + "model-versions/create", new { name = model, source = $"runs:/{run}/model", run_id = run });
        }
        await SendAsync(HttpMethod.Post, Api + "model-versions/transition-stage", new { name = model, version = "1", stage = "Production", archive_existing_versions = false });

        // Version 2: 0.32 against Production's 0.30 is 6.7 % worse, beyond the 5 % allowed.
        var rejected = await PromoteAndWaitAsync(model, 2);
        Assert.Equal("rejected", (string?)rejected["status"]);
        Assert.Equal(0.32, (double)rejected["gate_result"]!["candidate_value"]!);
        Assert.Equal(0.30, (double)rejected["gate_result"]!["baseline_value"]!);
        Assert.Equal("1", (string?)rejected["gate_result"]!["baseline_version"]);
        Assert.False(string.IsNullOrEmpty((string?)rejected["reason"]));
        Assert.Equal("None", (string?)(await SendAsync(HttpMethod.Get, $"{Api}model-versions/get?name={model}&version=2"))["model_version"]!["current_stage"]);

        // Version 3: 0.28 is better; it takes Production and version 1 is archived, as the registry API shows.
        var succeeded = await PromoteAndWaitAsync(model, 3);
        Assert.Equal("succeeded", (string?)succeeded["status"]);
        var v3 = (await SendAsync(HttpMethod.Get, $"{Api}model-versions/get?name={model}&version=3"))["model_version"]!;
        Assert.Equal("Production", (string?)v3["current_stage"]);
        Assert.Contains(v3["tags"]!.AsArray(), t => (string?)t!["key"] == "tracker.promotion_id" && (string?)t["value"] == (string?)succeeded["id"]);
        Assert.Equal("Archived", (string?)(await SendAsync(HttpMethod.Get, $"{Api}model-versions/get?name={model}&version=1"))["model_version"]!["current_stage"]);

        var history = (await SendAsync(HttpMethod.Get, $"{Promotions}search?name={model}"))["promotions"]!.AsArray();
        Assert.Equal([(string?)succeeded["id"], (string?)rejected["id"]], history.Select(p => (string?)p!["id"]));
    }
}
