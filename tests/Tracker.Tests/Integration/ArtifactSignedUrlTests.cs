using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Tracker's native artifact API used the way a job without MLflow uses it: ask Tracker for a signed URL, then move
/// the bytes with a plain HTTP client straight to Azurite. A URL covers one blob, one direction and a short time
/// (security baseline §4.3); downloads are attachments from the blob host, never pages (§1.7, §4.8).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactSignedUrlTests(AzuriteFixture azurite) : IDisposable
{
    private readonly TrackerApp _app = new(azurite);
    private ArtifactClient? _client;
    private ArtifactClient Client => _client ??= new ArtifactClient(_app);

    public void Dispose()
    {
        _client?.Dispose();
        _app.Dispose();
    }

    private static async Task<JsonObject> SignedUrlAsync(ArtifactClient client, string kind, object body)
    {
        using var response = await client.PostJsonAsync(ArtifactClient.Native + kind, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{kind}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Sends exactly what the signed-URL answer says: its method, its URL, its headers.</summary>
    private async Task<HttpResponseMessage> UseAsync(JsonObject signed, byte[]? body = null, string? url = null, string? method = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method ?? (string)signed["method"]!), url ?? (string)signed["url"]!);
        if (body is not null) request.Content = new ByteArrayContent(body);
        foreach (var (name, value) in signed["headers"]!.AsObject()) request.Headers.TryAddWithoutValidation(name, (string)value!);
        return await Client.Blobs.SendAsync(request);
    }

    private static Dictionary<string, string> Query(JsonObject signed) =>
        QueryHelpers.ParseQuery(new Uri((string)signed["url"]!).Query).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());

    [Fact]
    public async Task UploadAndDownloadWithAPlainHttpClient()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var bytes = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray();

        var before = DateTimeOffset.UtcNow;
        var upload = await SignedUrlAsync(Client, "upload-url", new { run_id = run, path = "model/weights.bin" });
        Assert.Equal("PUT", (string)upload["method"]!);
        Assert.Equal("BlockBlob", (string)upload["headers"]!["x-ms-blob-type"]!);
        Assert.Equal($"mlflow-artifacts:/{exp}/{run}/artifacts/model/weights.bin", (string)upload["artifact_uri"]!);
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)upload["expires_at"]!);
        Assert.InRange(expiresAt, before, before.AddHours(2));
        var uploadSas = Query(upload);
        Assert.Equal("b", uploadSas["sr"]);
        Assert.Equal("cw", uploadSas["sp"]);
        Assert.EndsWith($"/{exp}/{run}/artifacts/model/weights.bin", new Uri((string)upload["url"]!).AbsolutePath, StringComparison.Ordinal);
        using (var put = await UseAsync(upload, bytes))
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        var download = await SignedUrlAsync(Client, "download-url", new { run_id = run, path = "model/weights.bin" });
        Assert.Equal("GET", (string)download["method"]!);
        var downloadSas = Query(download);
        Assert.Equal("b", downloadSas["sr"]);
        Assert.Equal("r", downloadSas["sp"]);
        using (var get = await UseAsync(download))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(bytes, await get.Content.ReadAsByteArrayAsync());
            Assert.Equal("attachment", get.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("weights.bin", get.Content.Headers.ContentDisposition?.FileName);
        }

        // The same file through the MLflow side, and by the URIs runs/get and model versions hand out.
        Assert.Equal(bytes, await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, "model/weights.bin")));
        foreach (var uri in new[] { $"runs:/{run}/model/weights.bin", $"mlflow-artifacts:/{exp}/{run}/artifacts/model/weights.bin" })
        {
            using var get = await UseAsync(await SignedUrlAsync(Client, "download-url", new { artifact_uri = uri }));
            Assert.Equal(bytes, await get.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task AUrlCoversOneBlobInOneDirection()
    {
        var (exp, runA) = await Client.CreateRunAsync();
        var (_, runB) = await Client.CreateRunAsync();
        await Client.PutAsync(ArtifactClient.At(exp, runB, "model.pkl"), "B's model"u8.ToArray());
        var upload = await SignedUrlAsync(Client, "upload-url", new { run_id = runA, path = "model.pkl" });

        // Run A's signature on run B's blob, and on a sibling blob of run A.
        var url = (string)upload["url"]!;
        foreach (var other in new[] { url.Replace(runA, runB, StringComparison.Ordinal), url.Replace("/model.pkl?", "/other.pkl?", StringComparison.Ordinal) })
        {
            Assert.NotEqual(url, other);
            using var put = await UseAsync(upload, "pwned"u8.ToArray(), url: other);
            Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        }
        Assert.Equal("B's model"u8.ToArray(), await Client.DownloadBytesAsync(ArtifactClient.At(exp, runB, "model.pkl")));
        using (var missing = await Client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, runA, "other.pkl")))
            await ArtifactClient.AssertErrorAsync(missing, 404, "RESOURCE_DOES_NOT_EXIST");

        // A download URL reads; it cannot write (a well-formed Put Blob, so the refusal is the signature's) or delete.
        var download = await SignedUrlAsync(Client, "download-url", new { run_id = runB, path = "model.pkl" });
        download["headers"] = upload["headers"]!.DeepClone();
        using (var put = await UseAsync(download, "pwned"u8.ToArray(), method: "PUT"))
            Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        using (var delete = await UseAsync(download, method: "DELETE"))
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Equal("B's model"u8.ToArray(), await Client.DownloadBytesAsync(ArtifactClient.At(exp, runB, "model.pkl")));
    }

    [Fact]
    public async Task ADownloadUrlNeedsAnExistingFile()
    {
        var (_, run) = await Client.CreateRunAsync();
        using var response = await Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { run_id = run, path = "nothing.bin" });
        await ArtifactClient.AssertErrorAsync(response, 404, "RESOURCE_DOES_NOT_EXIST");
        using var root = await Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { artifact_uri = $"runs:/{run}" });
        await ArtifactClient.AssertErrorAsync(root, 400, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task UrlsStopWorkingWhenTheyExpire()
    {
        using var app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Artifacts:UploadUrlLifetime"] = "00:00:02",
            ["Tracker:Artifacts:DownloadUrlLifetime"] = "00:00:02",
        });
        using var client = new ArtifactClient(app);
        var (_, run) = await client.CreateRunAsync();
        var upload = await SignedUrlAsync(client, "upload-url", new { run_id = run, path = "a.txt" });
        using (var put = await UseAsync(upload, "first"u8.ToArray()))
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var download = await SignedUrlAsync(client, "download-url", new { run_id = run, path = "a.txt" });

        await Task.Delay(TimeSpan.FromSeconds(3));

        using (var put = await UseAsync(upload, "second"u8.ToArray()))
            Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        using (var get = await UseAsync(download))
            Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
        // A fresh URL still reads the first upload.
        using var fresh = await UseAsync(await SignedUrlAsync(client, "download-url", new { run_id = run, path = "a.txt" }));
        Assert.Equal("first"u8.ToArray(), await fresh.Content.ReadAsByteArrayAsync());
    }

    /// <summary>
    /// Security baseline §4.8: uploaded markup is only ever a download. Streamed from Tracker (the default, which every
    /// MLflow client can read) it is an attachment, never of a renderable type, with nosniff and a sandbox CSP; redirected,
    /// it comes from the blob host with the same attachment and type.
    /// </summary>
    [Theory]
    [InlineData("evil.html", "text/html", "<html><script>alert(document.domain)</script></html>", "application/octet-stream")]
    [InlineData("evil.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>", "application/octet-stream")]
    [InlineData("MLmodel", "text/plain", "flavors: !!js/function >\n  function f() { alert(1) }\n", "text/plain")]
    public async Task MarkupIsOnlyEverAnAttachment(string name, string uploadedAs, string content, string streamedAs)
    {
        var (exp, run) = await Client.CreateRunAsync();
        var at = ArtifactClient.At(exp, run, name);
        await Client.PutAsync(at, System.Text.Encoding.UTF8.GetBytes(content), uploadedAs);

        using (var streamed = await Client.DownloadAsync(at))
        {
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
            Assert.Equal(Client.Tracker.BaseAddress!.Authority, streamed.RequestMessage!.RequestUri!.Authority); // not redirected
            Assert.Equal("attachment", streamed.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal(name, streamed.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            Assert.Equal(streamedAs, streamed.Content.Headers.ContentType?.MediaType);
            Assert.Equal("sandbox", streamed.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal(content, await streamed.Content.ReadAsStringAsync());
        }

        using var app = new TrackerApp(azurite, _app.TablePrefix, new Dictionary<string, string> { ["Tracker:Artifacts:RedirectDownloadsFromBytes"] = "0" });
        using var client = new ArtifactClient(app);
        using var blob = await client.DownloadAsync(at);
        Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
        var blobHost = new Uri(azurite.ConnectionString.Split("BlobEndpoint=")[1].Split(';')[0]).GetLeftPart(UriPartial.Authority);
        Assert.Equal(blobHost, blob.RequestMessage!.RequestUri!.GetLeftPart(UriPartial.Authority));
        Assert.Equal("attachment", blob.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(name, blob.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        Assert.Equal(new MediaTypeHeaderValue("application/octet-stream"), blob.Content.Headers.ContentType);
        Assert.Equal(content, await blob.Content.ReadAsStringAsync());
    }
}
