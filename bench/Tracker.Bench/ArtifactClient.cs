using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Tracker.Bench.Workloads;

namespace Tracker.Bench;

/// <summary>A run's artifact directory, <c>&lt;experiment_id&gt;/&lt;run_id&gt;/artifacts</c> below <c>mlflow-artifacts:/</c>.</summary>
public sealed record ArtifactRun(string ExperimentId, string RunId)
{
    public string Directory => $"{Uri.EscapeDataString(ExperimentId)}/{Uri.EscapeDataString(RunId)}/artifacts";
}

/// <summary>A URL straight to Blob Storage, with the headers to send on it.</summary>
public sealed record SignedTransferUrl(Uri Url, IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>An upload id and one URL per part, from <c>mpu/create</c>.</summary>
public sealed record MultipartTicket(string UploadId, IReadOnlyList<SignedTransferUrl> Parts);

/// <summary>
/// Artifact calls on the wire, as the MLflow client makes them: the artifact proxy
/// (<c>/api/2.0/mlflow-artifacts/…</c>, raw bodies, and multipart upload whose parts go to the URLs the server hands
/// out) and Tracker's signed-URL API (<c>/api/2.0/tracker/artifacts/…</c>). Request bodies stream from
/// <see cref="GeneratedContent"/> and answers are checked against it as they arrive, so no file is ever in memory.
/// A server without an optional API (MLflow has no signed-URL API, and no multipart upload on a local store) is
/// told apart from a failing one by <see cref="IsUnsupported"/>.
/// </summary>
public sealed class ArtifactClient(HttpClient api, HttpClient transfers, string baseUrl, string? bearerToken = null)
{
    private const string ProxyRoot = "/api/2.0/mlflow-artifacts";
    private const string NativeRoot = "/api/2.0/tracker/artifacts";
    private const int UploadBufferBytes = 256 * 1024;
    private const int MaxRedirects = 3;

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private static readonly MediaTypeHeaderValue BinaryContentType = new("application/octet-stream");

    private readonly string _root = baseUrl.TrimEnd('/');

    /// <summary>The same calls against another server (e.g. a second launched instance).</summary>
    public ArtifactClient WithBaseUrl(string otherBaseUrl) => new(api, transfers, otherBaseUrl, bearerToken);

    /// <summary><c>PUT mlflow-artifacts/artifacts/&lt;dir&gt;/&lt;path&gt;</c> with the raw bytes as the body.</summary>
    public async Task ProxyUploadAsync(ArtifactRun run, string path, GeneratedContent content, CancellationToken ct)
    {
        using var request = Authorized(new HttpRequestMessage(HttpMethod.Put, ProxyUrl(run, path)) { Content = Body(content, 0, content.Length) });
        await SendAsync(transfers, request, ct);
    }

    /// <summary>
    /// <c>GET mlflow-artifacts/artifacts/&lt;dir&gt;/&lt;path&gt;</c>; a redirect is followed with a plain GET, as the
    /// MLflow client's <c>requests</c> does. Returns whether the server redirected.
    /// </summary>
    public async Task<bool> ProxyDownloadAsync(ArtifactRun run, string path, GeneratedContent expected, CancellationToken ct)
    {
        var url = new Uri(ProxyUrl(run, path));
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            using var request = Authorized(new HttpRequestMessage(HttpMethod.Get, url));
            using var response = await transfers.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (IsRedirect(response.StatusCode))
            {
                url = response.Headers.Location is { } location
                    ? new Uri(url, location)
                    : throw new BenchException($"GET {Describe(url)} answered {(int)response.StatusCode} without a Location");
                continue;
            }

            await EnsureSuccessAsync(request, response, ct);
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            await expected.VerifyAsync(body, $"GET {Describe(url)}", ct);
            return hop > 0;
        }

        throw new BenchException($"GET {ProxyUrl(run, path)}: more than {MaxRedirects} redirects");
    }

    /// <summary><c>DELETE mlflow-artifacts/artifacts/&lt;dir&gt;/&lt;path&gt;</c>: a file, or a directory and all below it.</summary>
    public async Task DeleteAsync(ArtifactRun run, string path, CancellationToken ct)
    {
        using var request = Authorized(new HttpRequestMessage(HttpMethod.Delete, ProxyUrl(run, path)));
        await SendAsync(api, request, ct);
    }

    /// <summary><c>POST tracker/artifacts/upload-url {run_id, path}</c>; null if the server has no such API.</summary>
    public Task<SignedTransferUrl?> TryUploadUrlAsync(ArtifactRun run, string path, CancellationToken ct) =>
        SignedUrlAsync("upload-url", "PUT", run, path, ct);

    /// <summary><c>POST tracker/artifacts/download-url {run_id, path}</c>; null if the server has no such API.</summary>
    public Task<SignedTransferUrl?> TryDownloadUrlAsync(ArtifactRun run, string path, CancellationToken ct) =>
        SignedUrlAsync("download-url", "GET", run, path, ct);

    /// <summary>PUTs <c>[offset, offset + count)</c> of the content to a signed URL; returns the ETag it answered with, if any.</summary>
    public async Task<string?> PutAsync(SignedTransferUrl target, GeneratedContent content, long offset, long count, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, target.Url) { Content = Body(content, offset, count) };
        foreach (var (name, value) in target.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await transfers.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        await EnsureSuccessAsync(request, response, ct);
        return response.Headers.ETag?.ToString();
    }

    /// <summary>GETs a signed URL and checks every byte against the content.</summary>
    public async Task GetAsync(SignedTransferUrl source, GeneratedContent expected, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, source.Url);
        foreach (var (name, value) in source.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await transfers.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(request, response, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await expected.VerifyAsync(body, $"GET {Describe(source.Url)}", ct);
    }

    /// <summary>
    /// <c>POST mlflow-artifacts/mpu/create/&lt;dir&gt; {path, num_parts}</c>, as the client sends it for a local file
    /// named <paramref name="fileName"/>; null if the server cannot do multipart uploads.
    /// </summary>
    public async Task<MultipartTicket?> TryCreateMultipartAsync(ArtifactRun run, string fileName, int numParts, CancellationToken ct)
    {
        var body = WireJson.Object(w =>
        {
            w.WriteString("path", fileName);
            w.WriteNumber("num_parts", numParts);
        });
        using var answer = await PostJsonAsync($"{_root}{ProxyRoot}/mpu/create/{run.Directory}", body, ct);
        if (answer is null)
        {
            return null;
        }

        var root = answer.RootElement;
        var parts = new List<SignedTransferUrl>();
        foreach (var credential in Required(root, "credentials", "mpu/create").EnumerateArray())
        {
            if (Required(credential, "part_number", "mpu/create").GetInt32() != parts.Count + 1)
            {
                throw new BenchException("mpu/create answered credentials out of part order");
            }

            parts.Add(new SignedTransferUrl(new Uri(RequiredString(credential, "url", "mpu/create")), Headers(credential)));
        }

        if (parts.Count != numParts)
        {
            throw new BenchException($"mpu/create answered {parts.Count} credentials for {numParts} parts");
        }

        return new MultipartTicket(RequiredString(root, "upload_id", "mpu/create"), parts);
    }

    /// <summary><c>POST mlflow-artifacts/mpu/complete/&lt;dir&gt; {path, upload_id, parts: [{part_number, etag, url}]}</c>.</summary>
    public async Task CompleteMultipartAsync(ArtifactRun run, string fileName, MultipartTicket ticket, IReadOnlyList<string?> etags, CancellationToken ct)
    {
        var body = WireJson.Object(w =>
        {
            w.WriteString("path", fileName);
            w.WriteString("upload_id", ticket.UploadId);
            w.WriteStartArray("parts");
            for (var i = 0; i < ticket.Parts.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("part_number", i + 1);
                w.WriteString("etag", etags[i] ?? "");
                w.WriteString("url", ticket.Parts[i].Url.AbsoluteUri);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
        using var answer = await PostJsonAsync($"{_root}{ProxyRoot}/mpu/complete/{run.Directory}", body, ct)
            ?? throw new BenchException("mpu/complete: the server answered as if it had no multipart upload, after mpu/create worked");
    }

    private async Task<SignedTransferUrl?> SignedUrlAsync(string endpoint, string method, ArtifactRun run, string path, CancellationToken ct)
    {
        var body = WireJson.Object(w =>
        {
            w.WriteString("run_id", run.RunId);
            w.WriteString("path", path);
        });
        using var answer = await PostJsonAsync($"{_root}{NativeRoot}/{endpoint}", body, ct);
        if (answer is null)
        {
            return null;
        }

        var root = answer.RootElement;
        var answered = RequiredString(root, "method", endpoint);
        return answered == method
            ? new SignedTransferUrl(new Uri(RequiredString(root, "url", endpoint)), Headers(root))
            : throw new BenchException($"{endpoint} answered method '{answered}', expected '{method}'");
    }

    /// <summary>POSTs JSON; the answer's JSON, or null when the server does not have this API at all.</summary>
    private async Task<JsonDocument?> PostJsonAsync(string url, byte[] body, CancellationToken ct)
    {
        using var request = Authorized(new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } },
        });
        using var response = await api.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var answer = await response.Content.ReadAsByteArrayAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            return IsUnsupported(response.StatusCode, answer) ? null : throw BenchHttp.Failure(request.Method, url, response, answer);
        }

        try
        {
            return JsonDocument.Parse(answer);
        }
        catch (JsonException e)
        {
            throw new BenchException($"POST {url} answered with a body that is not JSON: {e.Message}");
        }
    }

    /// <summary>
    /// 501 (MLflow's NOT_IMPLEMENTED, e.g. multipart on a local store), ENDPOINT_NOT_FOUND, or a 404/405 that is not an
    /// MLflow error at all (a route the server does not have). A 404 with any other error code is a real failure.
    /// </summary>
    private static bool IsUnsupported(HttpStatusCode status, byte[] body)
    {
        if (status == HttpStatusCode.NotImplemented)
        {
            return true;
        }

        if (status is not (HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed))
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind != JsonValueKind.Object
                || !json.RootElement.TryGetProperty("error_code", out var code)
                || code.GetString() is "ENDPOINT_NOT_FOUND" or "NOT_IMPLEMENTED";
        }
        catch (JsonException)
        {
            return true;
        }
    }

    private async Task SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken ct)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        await EnsureSuccessAsync(request, response, ct);
    }

    private static async Task EnsureSuccessAsync(HttpRequestMessage request, HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            throw BenchHttp.Failure(request.Method, Describe(request.RequestUri!), response, body);
        }
    }

    /// <summary>The bearer token goes to the tracking server only: never to a signed storage URL or a redirect target.</summary>
    private HttpRequestMessage Authorized(HttpRequestMessage request)
    {
        if (bearerToken is not null && request.RequestUri!.ToString().StartsWith(_root + "/", StringComparison.Ordinal))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }

        return request;
    }

    private string ProxyUrl(ArtifactRun run, string path) =>
        $"{_root}{ProxyRoot}/artifacts/{run.Directory}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}";

    private static HttpContent Body(GeneratedContent content, long offset, long count) =>
        new StreamContent(content.Open(offset, count), UploadBufferBytes)
        {
            Headers = { ContentLength = count, ContentType = BinaryContentType },
        };

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    /// <summary>A URL without its query: signed URLs carry their signature there, and it has no place in a log.</summary>
    private static string Describe(Uri url) => url.GetLeftPart(UriPartial.Path);

    private static List<KeyValuePair<string, string>> Headers(JsonElement owner)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (owner.TryGetProperty("headers", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in map.EnumerateObject())
            {
                headers.Add(new(header.Name, header.Value.GetString() ?? ""));
            }
        }

        return headers;
    }

    private static JsonElement Required(JsonElement owner, string name, string endpoint) =>
        owner.TryGetProperty(name, out var value) ? value : throw new BenchException($"{endpoint} answered without '{name}'");

    private static string RequiredString(JsonElement owner, string name, string endpoint) =>
        Required(owner, name, endpoint) is { ValueKind: JsonValueKind.String } value && value.GetString() is { Length: > 0 } s
            ? s
            : throw new BenchException($"{endpoint} answered without '{name}'");
}
