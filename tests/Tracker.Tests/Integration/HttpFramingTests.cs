using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Requests at the edge of HTTP/1.1 framing, sent byte for byte to a real Kestrel (the in-process test server parses
/// no chunks and enforces no limits): what reaches Tracker's code answers in MLflow's error shape, what Kestrel answers
/// on its own keeps the status the README lists, and HEAD answers like GET without a body.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class HttpFramingTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Create = "/api/2.0/mlflow/experiments/create";
    private TrackerProcess _tracker = null!;

    public async Task InitializeAsync() => _tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string>());

    public async Task DisposeAsync() => await _tracker.DisposeAsync();

    private Task<RawHttp> SendAsync(string request, bool head = false) => RawHttp.SendAsync(_tracker.Url, request, head);

    [Fact]
    public async Task AnOverflowingChunkSizeIsA400InMlflowShape()
    {
        var response = await SendAsync(
            $"POST {Create} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n" +
            "Connection: close\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n{\"name\":\"overflow\"}\r\n0\r\n\r\n");

        Assert.Equal(400, response.Status);
        Assert.Equal("BAD_REQUEST", response.MlflowErrorCode());
    }

    [Fact]
    public async Task AnOverflowingChunkSizeOnAnArtifactUploadIsA400InMlflowShape()
    {
        // A real run, so the upload gets as far as reading the body.
        using var http = new HttpClient { BaseAddress = _tracker.Url };
        using var created = await http.PostAsJsonAsync("/api/2.0/mlflow/runs/create", new { experiment_id = "0" });
        var root = ((string)(await created.Content.ReadFromJsonAsync<JsonNode>())!["run"]!["info"]!["artifact_uri"]!)["mlflow-artifacts:/".Length..];

        var response = await SendAsync(
            $"PUT /api/2.0/mlflow-artifacts/artifacts/{root}/f.txt HTTP/1.1\r\n" +
            "Host: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n");

        Assert.Equal(400, response.Status);
        Assert.Equal("BAD_REQUEST", response.MlflowErrorCode());
    }

    [Fact]
    public async Task TheLongestLegitimateUrlReachesTracker()
    {
        // The longest blob name Tracker accepts (1,024 characters) made of 3-byte UTF-8 characters, percent-encoded:
        // 9 URL characters each, so a request line of about 9 KB (see HttpServiceCollectionExtensions.MaxRequestLineBytes).
        const string prefix = "0/0123456789abcdef0123456789abcdef/artifacts/";
        var path = string.Concat(Enumerable.Repeat(Uri.EscapeDataString("模"), 1024 - prefix.Length));
        var response = await SendAsync($"GET /api/2.0/mlflow-artifacts/artifacts/{prefix}{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

        Assert.Equal(404, response.Status);
        Assert.Equal("RESOURCE_DOES_NOT_EXIST", response.MlflowErrorCode());
    }

    [Fact]
    public async Task TheLongestBulkIntervalRequestReachesTracker()
    {
        // MLflow's limit of 100 run ids, and a 250-character metric key of 3-byte characters, percent-encoded.
        var runIds = string.Concat(Enumerable.Range(0, 100).Select(i => $"run_ids={i:x32}&"));
        var key = string.Concat(Enumerable.Repeat(Uri.EscapeDataString("模"), 250));
        var response = await SendAsync(
            $"GET /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?{runIds}metric_key={key}&start_step=-2147483648&end_step=2147483647&max_results=2500 HTTP/1.1\r\n" +
            "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");

        Assert.NotEqual(414, response.Status);
        Assert.Equal("application/json", response.Headers["Content-Type"].Split(';')[0]);
    }

    /// <summary>
    /// Rejections Kestrel answers itself, before any of Tracker's code runs and with no hook to add a body (README,
    /// "HTTP limits"). They keep their status; this pins the list the README gives.
    /// </summary>
    [Theory]
    [InlineData("a request line over 16 KB", 414)]
    [InlineData("a NUL in the path", 400)]
    [InlineData("headers over 32 KB", 431)]
    [InlineData("HTTP/2.0 in the request line", 505)]
    [InlineData("a broken Content-Length", 400)]
    public async Task KestrelsOwnRejectionsKeepTheirStatus(string what, int status)
    {
        var request = what switch
        {
            "a request line over 16 KB" => $"GET /health?x={new string('a', 17 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "a NUL in the path" => "GET /api/2.0/mlflow/experiments/get%00x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "headers over 32 KB" => $"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {new string('a', 33 * 1024)}\r\nConnection: close\r\n\r\n",
            "HTTP/2.0 in the request line" => "GET /health HTTP/2.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "a broken Content-Length" => $"POST {Create} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1x\r\nConnection: close\r\n\r\n",
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        Assert.Equal(status, (await SendAsync(request)).Status);
    }

    [Fact]
    public async Task OversizedBodiesGetTheSameErrorCodeWhetherChunkedOrNot()
    {
        const int size = 21 * 1024 * 1024; // over RequestArgs.MaxBodyBytes (20 MiB)
        var declared = await SendAsync(
            $"POST {Create} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n{{");

        var head = Encoding.ASCII.GetBytes(
            $"POST {Create} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{size:x}\r\n");
        var chunked = await RawHttp.SendAsync(_tracker.Url, [.. head, .. Enumerable.Repeat((byte)' ', size), .. "\r\n0\r\n\r\n"u8.ToArray()]);

        Assert.Equal(413, declared.Status);
        Assert.Equal(413, chunked.Status);
        Assert.Equal(declared.MlflowErrorCode(), chunked.MlflowErrorCode());
    }

    [Fact]
    public async Task HeadOnAStoredArtifactGivesItsLengthWithoutItsBytes()
    {
        using var http = new HttpClient { BaseAddress = _tracker.Url };
        using var created = await http.PostAsJsonAsync("/api/2.0/mlflow/runs/create", new { experiment_id = "0" });
        var root = ((string)(await created.Content.ReadFromJsonAsync<JsonNode>())!["run"]!["info"]!["artifact_uri"]!)["mlflow-artifacts:/".Length..];
        var path = $"/api/2.0/mlflow-artifacts/artifacts/{root}/notes.txt";
        using (var put = await http.PutAsync(path, new ByteArrayContent(Encoding.UTF8.GetBytes("twelve bytes"))))
            Assert.Equal(200, (int)put.StatusCode);

        var get = await SendAsync($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        var head = await SendAsync($"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", head: true);

        Assert.Equal("twelve bytes", get.Text);
        Assert.Equal(200, head.Status);
        Assert.Equal(get.Headers["Content-Length"], head.Headers["Content-Length"]);
        Assert.Equal(get.Headers["Content-Disposition"], head.Headers["Content-Disposition"]);
        Assert.Empty(head.Body);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/version")]
    [InlineData("/api/2.0/mlflow/experiments/get?experiment_id=0")]
    [InlineData("/ajax-api/2.0/mlflow/experiments/get?experiment_id=424242")]
    [InlineData("/api/2.0/mlflow/experiments/search?max_results=1")]
    [InlineData("/api/2.0/mlflow-artifacts/artifacts/0/0123456789abcdef0123456789abcdef/artifacts/missing.txt")]
    public async Task HeadAnswersLikeGetWithoutABody(string pathAndQuery)
    {
        var get = await SendAsync($"GET {pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        var head = await SendAsync($"HEAD {pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", head: true);

        Assert.Equal(get.Status, head.Status);
        Assert.Equal(get.Headers["Content-Type"], head.Headers["Content-Type"]);
        Assert.Equal(get.Headers["X-Content-Type-Options"], head.Headers["X-Content-Type-Options"]);
        Assert.NotEmpty(get.Body);
        Assert.Empty(head.Body);
    }
}
