using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Functions.Http;
using Tracker.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Tracker.Tests.Integration;

/// <summary>
/// What one request may cost: bodies are bounded (MLflow's 1 MB for log-batch, a few MB elsewhere), error messages
/// repeat a short prefix of what they complain about, pages are bounded, and a state error is never a retried 5xx.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RequestLimitsTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    /// <summary>Comfortably more than any echo (250 characters) plus MLflow's message text around it.</summary>
    private const int SmallErrorBody = 2048;
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    private static async Task<(int Status, string Text)> PostRawAsync(HttpClient client, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return ((int)response.StatusCode, text);
    }

    private async Task<(int Status, string Text)> PostRawAsync(string path, string json)
    {
        using var client = _app.CreateClient();
        return await PostRawAsync(client, path, json);
    }

    private async Task<string> CreateRunAsync()
    {
        var (status, body) = await _app.PostAsync(Api + "runs/create", new { experiment_id = "0", start_time = 1 });
        Assert.Equal(200, status);
        return (string)body!["run"]!["info"]!["run_id"]!;
    }

    private static string LogParameterBody(string runId, string key) =>
        JsonSerializer.Serialize(new { run_id = runId, key, value = "v" });

    private static void AssertSmallError(int expectedStatus, (int Status, string Text) response)
    {
        Assert.True(response.Status == expectedStatus, $"{response.Status}: {response.Text[..Math.Min(300, response.Text.Length)]}");
        Assert.True(response.Text.Length < SmallErrorBody, $"A {response.Text.Length}-character error body.");
        Assert.NotNull(JsonNode.Parse(response.Text)!["error_code"]);
    }

    [Fact]
    public async Task AFiveMegabyteKeyIsRefusedWithAShortError()
    {
        var runId = await CreateRunAsync();
        AssertSmallError(413, await PostRawAsync(Api + "runs/log-parameter", LogParameterBody(runId, new string('a', 5_000_000))));
    }

    [Fact]
    public async Task AnOverlongKeyWithinTheBodyLimitEchoesOnlyAPrefix()
    {
        var runId = await CreateRunAsync();
        var key = new string('a', RequestArgs.MaxBodyBytes - 200);
        var response = await PostRawAsync(Api + "runs/log-parameter", LogParameterBody(runId, key));
        AssertSmallError(400, response);
        var message = (string)JsonNode.Parse(response.Text)!["message"]!;
        Assert.StartsWith($"Param key '{new string('a', 250)}' had length {key.Length}, which exceeded length limit of 250", message);
    }

    [Fact]
    public async Task AnInvalidLongKeyEchoesOnlyAPrefix()
    {
        var runId = await CreateRunAsync();
        var response = await PostRawAsync(Api + "runs/log-parameter", LogParameterBody(runId, "bad<key>" + new string('a', 100_000)));
        AssertSmallError(400, response);
        Assert.StartsWith("Invalid parameter name: 'bad<key>aaa", (string)JsonNode.Parse(response.Text)!["message"]!);
    }

    [Fact]
    public async Task ALongFilterEchoesOnlyAPrefix()
    {
        var filter = "params.x = 'a' AND " + new string('(', 200_000);
        AssertSmallError(400, await PostRawAsync(Api + "runs/search", JsonSerializer.Serialize(new { experiment_ids = new[] { "0" }, filter })));
        var orderBy = new string('x', 200_000) + " SIDEWAYS";
        AssertSmallError(400, await PostRawAsync(Api + "runs/search", JsonSerializer.Serialize(new { experiment_ids = new[] { "0" }, order_by = new[] { orderBy } })));
    }

    [Fact]
    public async Task LongNamesAndIdsInNotFoundErrorsEchoOnlyAPrefix()
    {
        using var client = _app.CreateClient();
        var name = new string('n', 300_000);
        using var byName = await client.GetAsync($"{Api}experiments/get-by-name?experiment_name={name}");
        var text = await byName.Content.ReadAsStringAsync();
        Assert.Equal(404, (int)byName.StatusCode);
        Assert.True(text.Length < SmallErrorBody, $"A {text.Length}-character error body.");

        AssertSmallError(400, await PostRawAsync(Api + "runs/search",
            JsonSerializer.Serialize(new { experiment_ids = new[] { new string('9', 300_000) + "x" } })));
        AssertSmallError(400, await PostRawAsync(Api + "runs/search",
            JsonSerializer.Serialize(new { experiment_ids = new[] { "0" }, page_token = new string('t', 300_000) })));
    }

    [Fact]
    public async Task ALogBatchBodyOverOneMillionBytesIsMlflowsError()
    {
        var runId = await CreateRunAsync();
        var body = JsonSerializer.Serialize(new
        {
            run_id = runId,
            @params = Enumerable.Range(0, 100).Select(i => new { key = $"p{i}", value = new string('v', 5000) }),
            tags = Enumerable.Range(0, 100).Select(i => new { key = $"t{i}", value = new string('t', 5500) }),
        });
        Assert.True(Encoding.UTF8.GetByteCount(body) > 1_000_000);
        var (status, text) = await PostRawAsync(Api + "runs/log-batch", body);
        Assert.True(status == 400, text[..Math.Min(300, text.Length)]);
        var error = JsonNode.Parse(text)!;
        Assert.Equal("INVALID_PARAMETER_VALUE", (string?)error["error_code"]);
        Assert.Equal($"Batched logging API requests must be at most 1000000 bytes, got a request of size {Encoding.UTF8.GetByteCount(body)}.",
            (string?)error["message"]);
    }

    [Fact]
    public async Task MetricHistoryPagesAreAtMost25000Points()
    {
        var runId = await CreateRunAsync();
        var (status, body) = await _app.GetAsync($"{Api}metrics/get-history?run_id={runId}&metric_key=m&max_results=25001");
        Assert.Equal(400, status);
        Assert.Equal("INVALID_PARAMETER_VALUE", (string?)body!["error_code"]);
        Assert.Contains("max_results", (string?)body["message"]);

        const int points = 25_010;
        for (var first = 0; first < points; first += 1000)
        {
            var (logged, _) = await _app.PostAsync(Api + "runs/log-batch", new
            {
                run_id = runId,
                metrics = Enumerable.Range(first, Math.Min(1000, points - first)).Select(s => new { key = "m", value = 1.0, timestamp = 1, step = s }),
            });
            Assert.Equal(200, logged);
        }
        var (ok, page) = await _app.GetAsync($"{Api}metrics/get-history?run_id={runId}&metric_key=m");
        Assert.Equal(200, ok);
        Assert.Equal(25_000, page!["metrics"]!.AsArray().Count);
        var token = (string)page["next_page_token"]!;
        var (_, rest) = await _app.GetAsync($"{Api}metrics/get-history?run_id={runId}&metric_key=m&page_token={Uri.EscapeDataString(token)}");
        Assert.Equal(10, rest!["metrics"]!.AsArray().Count);
        Assert.Null(rest["next_page_token"]);
    }

    [Fact]
    public async Task RenamingADeletedExperimentIsAClientError()
    {
        var (_, created) = await _app.PostAsync(Api + "experiments/create", new { name = "to-delete-" + Guid.NewGuid().ToString("N") });
        var id = (string)created!["experiment_id"]!;
        Assert.Equal(200, (await _app.PostAsync(Api + "experiments/delete", new { experiment_id = id })).Status);
        var (status, body) = await _app.PostAsync(Api + "experiments/update", new { experiment_id = id, new_name = "renamed-" + Guid.NewGuid().ToString("N") });
        Assert.Equal(400, status);
        Assert.Equal("INVALID_STATE", (string?)body!["error_code"]);
        Assert.Equal("Cannot rename a non-active experiment.", (string?)body["message"]);
    }

    [Fact]
    public async Task HtmlSignificantCharactersStayEscapedAndQuotesReadAsMlflowWritesThem()
    {
        var runId = await CreateRunAsync();
        const string value = "<script>alert('x' & \"y\")</script>";
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/set-tag", new { run_id = runId, key = "t", value })).Status);
        using var client = _app.CreateClient();
        var text = await client.GetStringAsync($"{Api}runs/get?run_id={runId}");
        Assert.DoesNotContain("<", text);
        Assert.DoesNotContain(">", text);
        Assert.DoesNotContain("&", text);
        Assert.Contains("\\u003Cscript\\u003Ealert('x' \\u0026 \\\"y\\\")\\u003C/script\\u003E", text);
        Assert.Equal(value, (string?)JsonNode.Parse(text)!["run"]!["data"]!["tags"]!.AsArray().Single(t => (string?)t!["key"] == "t")!["value"]);
    }

    /// <summary>
    /// Eight 5 MB requests at once against a real process whose heap is capped at 128 MiB (a quarter of a 512 MB
    /// instance's): each must come back as a short JSON error, never a 500 or an empty body. The same for eight keys
    /// just under the body limit, which are read, parsed and validated.
    /// </summary>
    [Fact]
    public async Task EightConcurrentOversizedRequestsUnderACappedHeapAllAnswerJsonErrors()
    {
        await using var tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string>
        {
            ["DOTNET_GCHeapHardLimit"] = $"0x{128L * 1024 * 1024:x}",
        });
        using var http = new HttpClient { BaseAddress = tracker.Url, Timeout = TimeSpan.FromMinutes(2) };
        var (created, createdText) = await PostRawAsync(http, Api + "runs/create", """{"experiment_id": "0"}""");
        Assert.True(created == 200, createdText);
        var runId = (string)JsonNode.Parse(createdText)!["run"]!["info"]!["run_id"]!;

        foreach (var (keyLength, status) in new[] { (5_000_000, 413), (RequestArgs.MaxBodyBytes - 200, 400) })
        {
            var body = LogParameterBody(runId, new string('k', keyLength));
            var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostRawAsync(http, Api + "runs/log-parameter", body)));
            Assert.All(responses, r => AssertSmallError(status, r));
        }
        Assert.False(tracker.HasExited, tracker.Output);
        var peak = tracker.PeakResidentBytes();
        output.WriteLine($"Peak RSS {peak >> 20} MiB");
        Assert.True(peak < 512L * 1024 * 1024, $"Peak RSS {peak >> 20} MiB: more than a 512 MB instance has.");
    }
}
