using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The two HTTP clients an MLflow client uses for artifacts: one for Tracker, which does not follow redirects so tests
/// see the 307 themselves, and a plain <see cref="HttpClient"/> for the signed Blob Storage URLs (no Tracker code).
/// Tracker requests go out exactly as written: no dot-segment removal, no re-escaping.
/// </summary>
internal sealed class ArtifactClient : IDisposable
{
    public const string Proxy = "/api/2.0/mlflow-artifacts/";
    public const string Tracking = "/api/2.0/mlflow/";
    public const string Native = "/api/2.0/tracker/artifacts/";

    private readonly TrackerApp _app;

    public ArtifactClient(TrackerApp app)
    {
        _app = app;
        Tracker = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    public HttpClient Tracker { get; }
    public HttpClient Blobs { get; } = new();

    public void Dispose()
    {
        Tracker.Dispose();
        Blobs.Dispose();
    }

    public static string At(string experimentId, string runId, string path) => $"{experimentId}/{runId}/artifacts/{path}";

    public async Task<string> CreateExperimentAsync(string name)
    {
        var (status, body) = await _app.PostAsync(Tracking + "experiments/create", new { name });
        Assert.Equal(200, status);
        return (string)body!["experiment_id"]!;
    }

    /// <returns>The run's experiment id and run id.</returns>
    public async Task<(string ExperimentId, string RunId)> CreateRunAsync(string experimentId = "0")
    {
        var (status, body) = await _app.PostAsync(Tracking + "runs/create", new { experiment_id = experimentId, start_time = 1 });
        Assert.Equal(200, status);
        return (experimentId, (string)body!["run"]!["info"]!["run_id"]!);
    }

    public async Task PostOkAsync(string path, object body)
    {
        var (status, answer) = await _app.PostAsync(path, body);
        Assert.True(status == 200, $"{path}: {status} {answer?.ToJsonString()}");
    }

    /// <summary>A request to Tracker through HTTP; the path must already be in its canonical form (nothing to normalise).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, pathAndQuery) { Content = content };
        Assert.Equal(pathAndQuery, new Uri(Tracker.BaseAddress!, pathAndQuery).PathAndQuery);
        return Tracker.SendAsync(request);
    }

    /// <summary>
    /// A request whose path reaches Tracker exactly as a server's URL decoding leaves it, <c>..</c> and <c>.</c> segments
    /// included: <see cref="HttpClient"/> would remove those before sending (and a front end may not), so the request is
    /// handed to the test server as an <see cref="HttpContext"/>, the path decoded like Kestrel's (all but <c>%2F</c>).
    /// </summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string rawPathAndQuery, byte[]? body = null)
    {
        var query = rawPathAndQuery.IndexOf('?');
        var rawPath = query < 0 ? rawPathAndQuery : rawPathAndQuery[..query];
        var context = await _app.Server.SendAsync(c =>
        {
            c.Request.Method = method.Method;
            c.Request.Path = Decode(rawPath);
            c.Request.QueryString = query < 0 ? QueryString.Empty : new QueryString(rawPathAndQuery[query..]);
            c.Features.Get<IHttpRequestFeature>()!.RawTarget = rawPathAndQuery;
            if (body is null) return;
            c.Request.ContentType = "application/json";
            c.Request.ContentLength = body.Length;
            c.Request.Body = new MemoryStream(body);
        });
        var response = new HttpResponseMessage((HttpStatusCode)context.Response.StatusCode) { Content = new StreamContent(context.Response.Body) };
        foreach (var (name, values) in context.Response.Headers)
            if (!response.Headers.TryAddWithoutValidation(name, values.ToArray()))
                response.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
        return response;
    }

    /// <summary>
    /// Kestrel refuses a path with an encoded NUL before routing; a front end that passes it on undecoded is the worse
    /// case, so such a path reaches Tracker as it was sent.
    /// </summary>
    private static PathString Decode(string rawPath)
    {
        try
        {
            return PathString.FromUriComponent(rawPath);
        }
        catch (InvalidOperationException)
        {
            return new PathString(rawPath);
        }
    }

    public Task<HttpResponseMessage> PostJsonAsync(string rawPath, object body) =>
        SendAsync(HttpMethod.Post, rawPath, Json(body));

    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public async Task PutAsync(string proxyPath, byte[] bytes, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await SendAsync(HttpMethod.Put, Proxy + "artifacts/" + proxyPath, content);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT {proxyPath}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// GET through Tracker, as python <c>requests</c> does it with redirects on: the streamed answer, or (when Tracker is
    /// set to redirect) the 307's Location fetched with a plain client. Either way with nosniff from Tracker.
    /// </summary>
    public async Task<HttpResponseMessage> DownloadAsync(string proxyPath)
    {
        var response = await SendAsync(HttpMethod.Get, Proxy + "artifacts/" + proxyPath);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        if (response.StatusCode != HttpStatusCode.TemporaryRedirect) return response;
        using var redirect = response;
        var location = redirect.Headers.Location!;
        Assert.True(location.IsAbsoluteUri && location.Authority != Tracker.BaseAddress!.Authority, $"redirected to {location}");
        return await Blobs.GetAsync(location);
    }

    public async Task<byte[]> DownloadBytesAsync(string proxyPath)
    {
        using var response = await DownloadAsync(proxyPath);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>A proxy listing (<c>GET /mlflow-artifacts/artifacts?path=</c>).</summary>
    public async Task<JsonNode> ListAsync(string proxyPath)
    {
        using var response = await SendAsync(HttpMethod.Get, Proxy + "artifacts?path=" + Uri.EscapeDataString(proxyPath));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await TrackerApp.ReadAsync(response))!;
    }

    /// <summary>Asserts an MLflow error answer and returns its message.</summary>
    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, int status, string errorCode, string what = "")
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{what}: expected {status} {errorCode}, got {(int)response.StatusCode} {text}");
        var body = JsonNode.Parse(text)!;
        Assert.Equal(errorCode, (string?)body["error_code"]);
        return (string)body["message"]!;
    }

    /// <summary>The names of every blob in the app's artifact container, read with the Azure SDK (not through Tracker).</summary>
    public static async Task<List<string>> BlobNamesAsync(AzuriteFixture azurite, string container)
    {
        var client = new BlobContainerClient(azurite.ConnectionString, container);
        var names = new List<string>();
        if (!await client.ExistsAsync()) return names;
        await foreach (var blob in client.GetBlobsAsync()) names.Add(blob.Name);
        names.Sort(StringComparer.Ordinal);
        return names;
    }
}
