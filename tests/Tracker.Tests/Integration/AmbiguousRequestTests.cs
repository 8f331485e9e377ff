using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Security baseline case 11 (ParamPollution) against real routes: every way of naming an id twice is a 400
/// INVALID_PARAMETER_VALUE that changes nothing, so a permission check can never authorise one id while the handler
/// acts on another. The forms MLflow's own clients send (run_id and an equal run_uuid; repeated list keys) still work.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AmbiguousRequestTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Ajax = "/ajax-api/2.0/mlflow/";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    private async Task<(string Experiment, string A, string B)> TwoRunsAsync()
    {
        var (_, experiment) = await _app.PostAsync(Api + "experiments/create", new { name = "ambiguous-" + Guid.NewGuid().ToString("N") });
        var experimentId = (string)experiment!["experiment_id"]!;
        async Task<string> RunAsync()
        {
            var (status, body) = await _app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1 });
            Assert.Equal(200, status);
            return (string)body!["run"]!["info"]!["run_id"]!;
        }
        return (experimentId, await RunAsync(), await RunAsync());
    }

    private async Task<(int Status, JsonNode? Body)> PostJsonAsync(string path, string json)
    {
        using var client = _app.CreateClient();
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        return ((int)response.StatusCode, await TrackerApp.ReadAsync(response));
    }

    private static void AssertAmbiguous((int Status, JsonNode? Body) response, string what)
    {
        Assert.True(response.Status == 400, $"{what}: {response.Status} {response.Body?.ToJsonString()}");
        Assert.Equal("INVALID_PARAMETER_VALUE", (string?)response.Body?["error_code"]);
    }

    /// <summary>A run as seen from outside: its tags, metrics, params and lifecycle, to show nothing changed.</summary>
    private async Task<string> SnapshotAsync(string runId)
    {
        var (status, body) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        Assert.Equal(200, status);
        var run = body!["run"]!;
        return run["data"]!.ToJsonString() + run["info"]!["lifecycle_stage"];
    }

    [Fact]
    public async Task AmbiguousBodiesAreRefusedAndChangeNothing()
    {
        var (experiment, a, b) = await TwoRunsAsync();
        var before = (await SnapshotAsync(a), await SnapshotAsync(b));

        string[] bodies =
        [
            // a key repeated at the top level, with different and with equal values
            $$"""{"run_id": "{{a}}", "run_id": "{{b}}", "key": "k", "value": "v"}""",
            $$"""{"run_id": "{{a}}", "run_id": "{{a}}", "key": "k", "value": "v"}""",
            // both spellings of one field, different and equal
            $$"""{"run_id": "{{a}}", "runId": "{{b}}", "key": "k", "value": "v"}""",
            $$"""{"run_id": "{{a}}", "runId": "{{a}}", "key": "k", "value": "v"}""",
            // run_id and a different run_uuid
            $$"""{"run_id": "{{a}}", "run_uuid": "{{b}}", "key": "k", "value": "v"}""",
        ];
        foreach (var body in bodies)
            AssertAmbiguous(await PostJsonAsync(Api + "runs/set-tag", body), body);

        AssertAmbiguous(await PostJsonAsync(Api + "runs/log-batch",
            $$"""{"run_id": "{{a}}", "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0, "key": "n"}]}"""), "nested repeat");
        AssertAmbiguous(await PostJsonAsync(Api + "runs/log-metric",
            $$"""{"run_id": "{{a}}", "run_uuid": "{{b}}", "key": "m", "value": 1, "timestamp": 1, "step": 0}"""), "log-metric run_uuid");
        AssertAmbiguous(await PostJsonAsync(Api + "runs/delete", $$"""{"run_id": "{{a}}", "run_id": "{{b}}"}"""), "delete");
        AssertAmbiguous(await PostJsonAsync(Api + "runs/search",
            $$"""{"experiment_ids": ["{{experiment}}"], "experimentIds": ["0"]}"""), "search spellings");
        AssertAmbiguous(await PostJsonAsync("/api/2.0/tracker/artifacts/upload-url",
            $$"""{"run_id": "{{a}}", "run_id": "{{b}}", "path": "x.txt"}"""), "upload-url");

        Assert.Equal(before, (await SnapshotAsync(a), await SnapshotAsync(b)));
    }

    /// <summary>Tracker's download-url takes a run and a path or an artifact URI; given both, they could name two runs.</summary>
    [Fact]
    public async Task ADownloadUrlForARunAndAnArtifactUriIsAmbiguous()
    {
        var (experiment, a, b) = await TwoRunsAsync();
        var response = await _app.PostAsync("/api/2.0/tracker/artifacts/download-url",
            new { run_id = a, path = "x.txt", artifact_uri = $"mlflow-artifacts:/{experiment}/{b}/artifacts/x.txt" });
        AssertAmbiguous(response, "download-url");
        Assert.StartsWith("Ambiguous request", (string?)response.Body!["message"]);
    }

    [Fact]
    public async Task RepeatedScalarQueryKeysAreRefused()
    {
        var (experiment, a, b) = await TwoRunsAsync();
        string[] queries =
        [
            $"{Api}runs/get?run_id={a}&run_id={b}",
            $"{Api}runs/get?run_id={a}&run_id={a}",
            $"{Api}runs/get?run_id={a}&run_uuid={b}",
            $"{Api}metrics/get-history?run_id={a}&metric_key=m&max_results=1&max_results=2",
            $"{Api}metrics/get-history?run_id={a}&metric_key=m&metric_key=n",
            $"{Api}experiments/search?max_results=1&page_token=x&page_token=y",
            $"{Api}experiments/get?experiment_id={experiment}&experiment_id=0",
            $"{Api}artifacts/list?run_id={a}&run_id={b}",
            $"{Api}artifacts/list?run_id={a}&path=x&path=y",
            $"/api/2.0/mlflow-artifacts/artifacts?path={experiment}/{a}/artifacts&path={experiment}/{b}/artifacts",
        ];
        foreach (var query in queries)
            AssertAmbiguous(await _app.GetAsync(query), query);
    }

    [Fact]
    public async Task ARawUploadWithARepeatedPathWritesNothing()
    {
        var (_, a, _) = await TwoRunsAsync();
        using var client = _app.CreateClient();
        using var content = new ByteArrayContent("hello"u8.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await client.PostAsync($"{Ajax}upload-artifact?run_uuid={a}&path=a.txt&path=b.txt", content);
        AssertAmbiguous(((int)response.StatusCode, await TrackerApp.ReadAsync(response)), "upload-artifact");

        var (status, listed) = await _app.GetAsync($"{Api}artifacts/list?run_id={a}");
        Assert.Equal(200, status);
        Assert.Null(listed!["files"]);
    }

    [Fact]
    public async Task WhatMlflowClientsSendStillWorks()
    {
        var (experiment, a, b) = await TwoRunsAsync();
        // MLflow's Python client sends run_id and run_uuid, equal.
        var (status, _) = await _app.PostAsync(Api + "runs/log-metric", new { run_id = a, run_uuid = a, key = "m", value = 1.0, timestamp = 1, step = 0 });
        Assert.Equal(200, status);
        // MLflow's Java client sends lowerCamelCase only.
        (status, _) = await _app.PostAsync(Api + "runs/set-tag", new { runUuid = a, key = "k", value = "v" });
        Assert.Equal(200, status);
        // List parameters may repeat in a query.
        (status, var bulk) = await _app.GetAsync($"{Ajax}metrics/get-history-bulk?run_id={a}&run_id={b}&metric_key=m");
        Assert.Equal(200, status);
        Assert.Single(bulk!["metrics"]!.AsArray());
        (status, var found) = await _app.PostAsync(Api + "runs/search", new { experiment_ids = new[] { experiment } });
        Assert.Equal(200, status);
        Assert.Equal(2, found!["runs"]!.AsArray().Count);
    }
}
