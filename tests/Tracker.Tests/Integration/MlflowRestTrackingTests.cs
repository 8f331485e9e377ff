using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// MLflow's own REST tests (<c>tests/tracking/test_rest_tracking.py</c>, MLflow 3.x) ported one to one: each method
/// is named after the MLflow test it ports and asserts what that test asserts, including its checks on the raw
/// response text (so the JSON encoder's escaping is part of the contract).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class MlflowRestTrackingTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Ajax = "/ajax-api/2.0/mlflow/";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    /// <summary><c>_send_rest_tracking_post_request</c>: requests.post(json=payload); the raw text of the answer.</summary>
    private async Task<(int Status, string Text)> PostRawAsync(string path, string json)
    {
        using var client = _app.CreateClient();
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<(int Status, string Text)> PostRawAsync(string path, object payload) => PostRawAsync(path, JsonSerializer.Serialize(payload));

    private async Task<(int Status, string Text)> GetRawAsync(string pathAndQuery)
    {
        using var client = _app.CreateClient();
        using var response = await client.GetAsync(pathAndQuery);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task AssertBadRequest(string path, string json, string expectedInText)
    {
        var (status, text) = await PostRawAsync(path, json);
        Assert.True(status == 400, $"{status}: {text}");
        Assert.Contains(expectedInText, text, StringComparison.Ordinal);
    }

    /// <summary>The ajax tests' assert_response: 400, INVALID_PARAMETER_VALUE, and the message containing a part.</summary>
    private static void AssertInvalid((int Status, string Text) response, string messagePart)
    {
        Assert.True(response.Status == 400, $"{response.Status}: {response.Text}");
        var body = JsonNode.Parse(response.Text)!;
        Assert.Equal("INVALID_PARAMETER_VALUE", (string?)body["error_code"]);
        Assert.Contains(messagePart, (string?)body["message"] ?? "", StringComparison.Ordinal);
    }

    private async Task<string> CreateExperimentAsync(string name)
    {
        var (status, body) = await _app.PostAsync(Api + "experiments/create", new { name = name + "-" + Guid.NewGuid().ToString("N")[..8] });
        Assert.Equal(200, status);
        return (string)body!["experiment_id"]!;
    }

    private async Task<string> CreateRunAsync(string experimentId)
    {
        var (status, body) = await _app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1 });
        Assert.Equal(200, status);
        return (string)body!["run"]!["info"]!["run_id"]!;
    }

    private async Task LogMetricAsync(string runId, string key, long timestamp, long step, double value)
    {
        var (status, _) = await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key, value, timestamp, step });
        Assert.Equal(200, status);
    }

    // ---- JSON types and message text ---------------------------------------------------------------------------

    [Fact]
    public async Task test_create_experiment_validation()
    {
        const string path = Api + "experiments/create";
        await AssertBadRequest(path, """{"name": 123}""", "Invalid value 123 for parameter 'name'");
        await AssertBadRequest(path, "{}", "Missing value for required parameter 'name'");
        await AssertBadRequest(path, """{"name": "experiment name", "artifact_location": 9.0, "tags": [{"key": "key", "value": "value"}]}""",
            "Invalid value 9.0 for parameter 'artifact_location'");
        await AssertBadRequest(path, """{"name": "experiment name", "artifact_location": "my_location", "tags": "5"}""",
            "Invalid value \\\"5\\\" for parameter 'tags'");
    }

    [Fact]
    public async Task test_log_metric_validation()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("metrics validation"));
        const string path = Api + "runs/log-metric";
        await AssertBadRequest(path, """{"run_id": 31, "key": "metric", "value": 41, "timestamp": 59, "step": 26}""",
            "Invalid value 31 for parameter 'run_id' supplied");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "key": 31, "value": 41, "timestamp": 59, "step": 26}""",
            "Invalid value 31 for parameter 'key' supplied");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "key": "foo", "value": 31, "timestamp": 59, "step": "foo"}""",
            "Invalid value \\\"foo\\\" for parameter 'step' supplied");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "key": "foo", "value": 31, "timestamp": "foo", "step": 41}""",
            "Invalid value \\\"foo\\\" for parameter 'timestamp' supplied");
        await AssertBadRequest(path, """{"run_id": null, "key": "foo", "value": 31, "timestamp": 59, "step": 41}""",
            "Missing value for required parameter 'run_id'");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "value": 31, "timestamp": 59, "step": 41}""",
            "Missing value for required parameter 'key'");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "key": null, "value": 31, "timestamp": 59, "step": 41}""",
            "Missing value for required parameter 'key'");
    }

    [Fact]
    public async Task test_log_param_validation()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("params validation"));
        const string path = Api + "runs/log-parameter";
        await AssertBadRequest(path, """{"run_id": 31, "key": "param", "value": 41}""", "Invalid value 31 for parameter 'run_id' supplied");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "key": 31, "value": 41}""", "Invalid value 31 for parameter 'key' supplied");
    }

    [Fact]
    public async Task test_set_tag_validation()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("tags validation"));
        const string path = Api + "runs/set-tag";
        await AssertBadRequest(path, """{"run_id": 31, "key": "tag", "value": 41}""", "Invalid value 31 for parameter 'run_id' supplied");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "key": "param", "value": 41}""", "Invalid value 41 for parameter 'value' supplied");
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "value": "value"}""", "Missing value for required parameter 'key'");
        var (status, text) = await PostRawAsync(path, new { run_uuid = runId, key = "key", value = "value" });
        Assert.True(status == 200, text);
    }

    [Fact]
    public async Task test_log_batch_validation()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("log_batch validation"));
        const string path = Api + "runs/log-batch";
        foreach (var parameter in new[] { "metrics", "params", "tags" })
            await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "{{parameter}}": "foo"}""",
                $"Invalid value \\\"foo\\\" for parameter '{parameter}' supplied");

        // MLflow 3.x's _assert_metrics_fields_present names the missing field.
        await AssertBadRequest(path, $$"""{"run_id": "{{runId}}", "metrics": [{"key": "mae", "value": 2.5}]}""",
            "Missing value for required parameter 'metrics[0].timestamp'");

        var (status, text) = await PostRawAsync(path, $$"""{"run_id": "{{runId}}", "metrics": [{"key": "mae", "value": 2.5, "timestamp": 123456789}]}""");
        Assert.True(status == 200, text);
    }

    // ---- ajax-only routes ---------------------------------------------------------------------------------------

    [Fact]
    public async Task test_get_metric_history_bulk_rejects_invalid_requests()
    {
        const string url = Ajax + "metrics/get-history-bulk";
        AssertInvalid(await GetRawAsync(url + "?metric_key=key"), "GetMetricHistoryBulk request must specify at least one run_id");
        AssertInvalid(await GetRawAsync(url + "?metric_key=key"), "GetMetricHistoryBulk request must specify at least one run_id");
        var tooMany = string.Concat(Enumerable.Range(0, 1000).Select(i => $"run_id=id_{i}&"));
        AssertInvalid(await GetRawAsync($"{url}?{tooMany}metric_key=key"), "GetMetricHistoryBulk request cannot specify more than");
        AssertInvalid(await GetRawAsync(url + "?run_id=123"), "GetMetricHistoryBulk request must specify a metric_key");
    }

    [Fact]
    public async Task test_get_metric_history_bulk_returns_expected_metrics_in_expected_order()
    {
        var experimentId = await CreateExperimentAsync("get metric history bulk");
        var run1 = await CreateRunAsync(experimentId);
        var run2 = await CreateRunAsync(experimentId);
        var run3 = await CreateRunAsync(experimentId);
        (long Timestamp, long Step, double Value)[] metricA = [(1, 2, 10.0), (1, 3, 11.0), (1, 3, 12.0), (2, 3, 12.0)];
        (long Timestamp, long Step, double Value)[] metricB = [(7, -2, -100.0), (8, 0, 0.0), (8, 0, 1.0), (9, 1, 12.0)];
        foreach (var (key, history) in new[] { ("metricA", metricA), ("metricB", metricB) })
            foreach (var m in history)
            {
                await LogMetricAsync(run1, key, m.Timestamp, m.Step, m.Value);
                await LogMetricAsync(run2, key, m.Timestamp, m.Step, m.Value + 1.0);
            }

        IEnumerable<string> Expected(string key, (long Timestamp, long Step, double Value)[] history, params (string RunId, double Offset)[] runs) =>
            runs.OrderBy(r => r.RunId, StringComparer.Ordinal)
                .SelectMany(r => history.Select(m => Point(key, m.Value + r.Offset, m.Timestamp, m.Step, r.RunId)));

        Assert.Equal(Expected("metricA", metricA, (run1, 0)), await BulkAsync($"run_id={run1}&metric_key=metricA"));
        Assert.Equal(Expected("metricB", metricB, (run2, 1)), await BulkAsync($"run_id={run2}&metric_key=metricB"));
        Assert.Equal(Expected("metricA", metricA, (run1, 0), (run2, 1)), await BulkAsync($"run_id={run1}&run_id={run2}&metric_key=metricA"));
        Assert.Equal(Expected("metricB", metricB, (run1, 0), (run2, 1)),
            await BulkAsync($"run_id={run1}&run_id={run2}&run_id={run3}&metric_key=metricB"));
    }

    [Fact]
    public async Task test_get_metric_history_bulk_respects_max_results()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("get metric history bulk"));
        (long Timestamp, long Step, double Value)[] metricA = [(1, 2, 10.0), (1, 3, 11.0), (1, 3, 12.0), (2, 3, 12.0)];
        foreach (var m in metricA) await LogMetricAsync(runId, "metricA", m.Timestamp, m.Step, m.Value);

        Assert.Equal(metricA.Take(2).Select(m => Point("metricA", m.Value, m.Timestamp, m.Step, runId)),
            await BulkAsync($"run_id={runId}&metric_key=metricA&max_results=2"));
    }

    private static string Point(string key, double value, long timestamp, long step, string runId) =>
        $"{key}|{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}|{timestamp}|{step}|{runId}";

    private async Task<List<string>> BulkAsync(string query)
    {
        var (status, text) = await GetRawAsync($"{Ajax}metrics/get-history-bulk?{query}");
        Assert.True(status == 200, text);
        return JsonNode.Parse(text)!["metrics"]!.AsArray()
            .Select(m => Point((string)m!["key"]!, (double)m["value"]!, (long)m["timestamp"]!, (long)m["step"]!, (string)m["run_id"]!))
            .ToList();
    }

    [Fact]
    public async Task test_search_dataset_handler_rejects_invalid_requests()
    {
        const string url = Ajax + "experiments/search-datasets";
        AssertInvalid(await PostRawAsync(url, "{}"), "SearchDatasets request must specify at least one experiment_id.");
        AssertInvalid(await PostRawAsync(url, """{"experiment_ids": []}"""), "SearchDatasets request must specify at least one experiment_id.");
        AssertInvalid(await PostRawAsync(url, new { experiment_ids = Enumerable.Range(0, 1000).Select(i => $"id_{i}") }),
            "SearchDatasets request cannot specify more than");
    }

    [Fact]
    public async Task test_search_dataset_handler_returns_expected_results()
    {
        var experimentId = await CreateExperimentAsync("log inputs test");
        var runId = await CreateRunAsync(experimentId);
        var (logged, _) = await _app.PostAsync(Api + "runs/log-inputs", new
        {
            run_id = runId,
            datasets = new[]
            {
                new
                {
                    tags = new[] { new { key = "mlflow.data.context", value = "training" } },
                    dataset = new { name = "name1", digest = "digest1", source_type = "source_type1", source = "source1" },
                },
            },
        });
        Assert.Equal(200, logged);

        var (status, text) = await PostRawAsync(Ajax + "experiments/search-datasets", new { experiment_ids = new[] { experimentId } });
        Assert.True(status == 200, text);
        var expected = new JsonArray(new JsonObject
        {
            ["experiment_id"] = experimentId,
            ["name"] = "name1",
            ["digest"] = "digest1",
            ["context"] = "training",
        });
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(text)!["dataset_summaries"]), text);
    }

    [Fact]
    public async Task test_create_promptlab_run_handler_rejects_invalid_requests()
    {
        const string url = Ajax + "runs/create-promptlab-run";
        AssertInvalid(await PostRawAsync(url, "{}"), "CreatePromptlabRun request must specify experiment_id.");
        AssertInvalid(await PostRawAsync(url, """{"experiment_id": "123"}"""), "CreatePromptlabRun request must specify prompt_template.");
        AssertInvalid(await PostRawAsync(url, """{"experiment_id": "123", "prompt_template": "my_prompt_template"}"""),
            "CreatePromptlabRun request must specify prompt_parameters.");
        AssertInvalid(await PostRawAsync(url,
                """{"experiment_id": "123", "prompt_template": "my_prompt_template", "prompt_parameters": [{"key": "my_key", "value": "my_value"}]}"""),
            "CreatePromptlabRun request must specify model_route.");
        AssertInvalid(await PostRawAsync(url,
                """{"experiment_id": "123", "prompt_template": "my_prompt_template", "prompt_parameters": [{"key": "my_key", "value": "my_value"}], "model_route": "my_route"}"""),
            "CreatePromptlabRun request must specify model_input.");
        AssertInvalid(await PostRawAsync(url,
                """{"experiment_id": "123", "prompt_template": "my_prompt_template", "prompt_parameters": [{"key": "my_key", "value": "my_value"}], "model_route": "my_route", "model_input": "my_input"}"""),
            "CreatePromptlabRun request must specify mlflow_version.");
    }

    [Fact]
    public async Task test_create_promptlab_run_handler_returns_expected_results()
    {
        var experimentId = await CreateExperimentAsync("log inputs test");
        var (status, text) = await PostRawAsync(Ajax + "runs/create-promptlab-run", new
        {
            experiment_id = experimentId,
            run_name = "my_run_name",
            prompt_template = "my_prompt_template",
            prompt_parameters = new[] { new { key = "my_key", value = "my_value" } },
            model_route = "my_route",
            model_parameters = new[] { new { key = "temperature", value = "0.1" } },
            model_input = "my_input",
            model_output = "my_output",
            model_output_parameters = new[] { new { key = "latency", value = "100" } },
            mlflow_version = "1.0.0",
            user_id = "username",
            start_time = 456,
        });
        Assert.True(status == 200, text);
        var run = JsonNode.Parse(text)!["run"]!;
        Assert.Equal("my_run_name", (string?)run["info"]!["run_name"]);
        Assert.Equal(experimentId, (string?)run["info"]!["experiment_id"]);
        Assert.Equal("username", (string?)run["info"]!["user_id"]);
        Assert.Equal("FINISHED", (string?)run["info"]!["status"]);
        Assert.Equal(456, (long)run["info"]!["start_time"]!);

        var @params = run["data"]!["params"]!.AsArray().Select(p => ((string)p!["key"]!, (string)p["value"]!)).ToList();
        Assert.Contains(("model_route", "my_route"), @params);
        Assert.Contains(("prompt_template", "my_prompt_template"), @params);
        Assert.Contains(("temperature", "0.1"), @params);
        var tags = run["data"]!["tags"]!.AsArray().Select(p => ((string)p!["key"]!, (string)p["value"]!)).ToList();
        Assert.Contains(("mlflow.loggedArtifacts", """[{"path": "eval_results_table.json", "type": "table"}]"""), tags);
        Assert.Contains(("mlflow.runSourceType", "PROMPT_ENGINEERING"), tags);
    }

    [Fact]
    public async Task test_upload_artifact_handler_rejects_invalid_requests()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("upload_artifacts_test"));
        const string url = Ajax + "upload-artifact";
        AssertInvalid(await PostBytesAsync(url, []), "Request must specify run_uuid.");
        AssertInvalid(await PostBytesAsync($"{url}?run_uuid={runId}", []), "Request must specify path.");
        AssertInvalid(await PostBytesAsync($"{url}?run_uuid={runId}&path=", []), "Request must specify path.");
        AssertInvalid(await PostBytesAsync($"{url}?run_uuid={runId}&path=../test.txt", []), "Invalid path");
        AssertInvalid(await PostBytesAsync($"{url}?run_uuid={runId}&path=test.txt", []), "Request must specify data.");
    }

    [Fact]
    public async Task test_upload_artifact_handler()
    {
        var experimentId = await CreateExperimentAsync("upload_artifacts_test");
        var runId = await CreateRunAsync(experimentId);
        var (status, text) = await PostBytesAsync($"{Ajax}upload-artifact?run_uuid={runId}&path=test.txt", "hello world"u8.ToArray());
        Assert.True(status == 200, text);

        // MLflow reads it back through GET /get-artifact, which Tracker does not serve; the artifact proxy is the same blob.
        var (got, content) = await GetRawAsync($"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/test.txt");
        Assert.Equal(200, got);
        Assert.Equal("hello world", content);
    }

    /// <summary>requests.post(url, params=…, data=…): no Content-Type, no Origin, as MLflow's test sends it.</summary>
    private async Task<(int Status, string Text)> PostBytesAsync(string url, byte[] data, string? contentType = null, string? origin = null)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(data) };
        request.Content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        if (origin is not null) request.Headers.Add("Origin", origin);
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>What a cross-site page can send without a preflight (security baseline §1.5): refused, nothing stored.</summary>
    [Theory]
    [InlineData(null, "https://evil.example")]
    [InlineData("text/plain", null)]
    [InlineData("application/x-www-form-urlencoded", null)]
    [InlineData("multipart/form-data; boundary=x", "https://evil.example")]
    public async Task UploadArtifactRefusesBodiesACrossSiteFormCouldSend(string? contentType, string? origin)
    {
        var experimentId = await CreateExperimentAsync("upload_artifacts_csrf");
        var runId = await CreateRunAsync(experimentId);
        AssertInvalid(await PostBytesAsync($"{Ajax}upload-artifact?run_uuid={runId}&path=x.txt", "hello"u8.ToArray(), contentType, origin), "Content-Type");
        var (status, _) = await GetRawAsync($"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/x.txt");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task UploadArtifactRefusesMoreThanTenMegabytes()
    {
        var runId = await CreateRunAsync(await CreateExperimentAsync("upload_artifacts_big"));
        AssertInvalid(await PostBytesAsync($"{Ajax}upload-artifact?run_uuid={runId}&path=big.bin", new byte[10 * 1024 * 1024 + 1]),
            "Artifact size is too large. Max size is 10MB.");
    }

    [Fact]
    public async Task AjaxOnlyRoutesAreNotServedUnderApi()
    {
        // MLflow registers these four on its ajax root only (handlers.get_endpoints' ajax-only list).
        Assert.Equal(404, (await GetRawAsync(Api + "metrics/get-history-bulk?run_id=x&metric_key=k")).Status);
        Assert.Equal(404, (await PostRawAsync(Api + "experiments/search-datasets", """{"experiment_ids": ["0"]}""")).Status);
        Assert.Equal(404, (await PostRawAsync(Api + "runs/create-promptlab-run", "{}")).Status);
        Assert.Equal(404, (await PostBytesAsync(Api + "upload-artifact?run_uuid=x&path=a", "x"u8.ToArray())).Status);
    }
}
