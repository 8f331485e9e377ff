using System.Net;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// MLflow's artifact proxy contract (spec §3.2) over real Azurite, beyond what the recording covers: listing edge cases,
/// recursive delete, overwrite, empty and chunked uploads, multipart uploads whose parts go straight to Blob Storage,
/// and downloads streamed through Tracker when it is configured to.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactProxyTests(AzuriteFixture azurite) : IDisposable
{
    private readonly TrackerApp _app = new(azurite);
    private ArtifactClient? _client;
    private ArtifactClient Client => _client ??= new ArtifactClient(_app);

    public void Dispose()
    {
        _client?.Dispose();
        _app.Dispose();
    }

    private static string Files(JsonNode listing) => listing["files"]?.ToJsonString() ?? "";

    [Fact]
    public async Task ListingShowsDirectoriesWithoutSizesAndNothingForFilesOrMissingPaths()
    {
        var (exp, run) = await Client.CreateRunAsync();
        foreach (var (path, size) in new[] { ("b.txt", 2), ("a/x.bin", 3), ("a/y/z.bin", 1), ("A.txt", 4), ("c/d/e.txt", 5) })
            await Client.PutAsync(ArtifactClient.At(exp, run, path), new byte[size]);

        var root = await Client.ListAsync($"{exp}/{run}/artifacts");
        Assert.Equal(
            """[{"path":"A.txt","is_dir":false,"file_size":4},{"path":"a","is_dir":true},{"path":"b.txt","is_dir":false,"file_size":2},{"path":"c","is_dir":true}]""",
            Files(root));
        Assert.Equal("""[{"path":"x.bin","is_dir":false,"file_size":3},{"path":"y","is_dir":true}]""", Files(await Client.ListAsync(ArtifactClient.At(exp, run, "a"))));
        foreach (var notADirectory in new[] { "b.txt", "a/x.bin", "missing", "a/missing/deeper", "a/x" })
            Assert.Equal("{}", (await Client.ListAsync(ArtifactClient.At(exp, run, notADirectory))).ToJsonString());

        // The tracking API's listing: paths relative to the run's root, on both prefixes.
        foreach (var api in new[] { ArtifactClient.Tracking, "/ajax-api/2.0/mlflow/" })
        {
            var (status, listing) = await _app.GetAsync($"{api}artifacts/list?run_id={run}&path=a");
            Assert.Equal(200, status);
            Assert.Equal($"mlflow-artifacts:/{exp}/{run}/artifacts", (string)listing!["root_uri"]!);
            Assert.Equal("""[{"path":"a/x.bin","is_dir":false,"file_size":3},{"path":"a/y","is_dir":true}]""", Files(listing));
            var (_, top) = await _app.GetAsync($"{api}artifacts/list?run_id={run}");
            Assert.Equal(["A.txt", "a", "b.txt", "c"], top!["files"]!.AsArray().Select(f => (string)f!["path"]!));
            var (_, file) = await _app.GetAsync($"{api}artifacts/list?run_id={run}&path=b.txt");
            Assert.Null(file!["files"]);
        }
    }

    [Fact]
    public async Task DeleteIsRecursiveAndAMissingPathIsANoOp()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var (_, neighbour) = await Client.CreateRunAsync();
        foreach (var path in new[] { "d/1.txt", "d/e/2.txt", "d/e/f/3.txt", "dx/keep.txt", "keep.txt" })
            await Client.PutAsync(ArtifactClient.At(exp, run, path), [1]);
        await Client.PutAsync(ArtifactClient.At(exp, neighbour, "d/1.txt"), [1]);

        foreach (var path in new[] { "d", "missing", "missing/deeper", "d" })
        {
            using var response = await Client.SendAsync(HttpMethod.Delete, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, run, path));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(["dx", "keep.txt"], (await Client.ListAsync($"{exp}/{run}/artifacts"))["files"]!.AsArray().Select(f => (string)f!["path"]!));
        Assert.Equal("{}", (await Client.ListAsync(ArtifactClient.At(exp, run, "d"))).ToJsonString());
        Assert.Equal([1], await Client.DownloadBytesAsync(ArtifactClient.At(exp, neighbour, "d/1.txt")));

        // The artifact root itself: everything of this run goes, its neighbour keeps its files.
        using (var all = await Client.SendAsync(HttpMethod.Delete, ArtifactClient.Proxy + $"artifacts/{exp}/{run}/artifacts"))
            Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal("{}", (await Client.ListAsync($"{exp}/{run}/artifacts")).ToJsonString());
        Assert.Equal([1], await Client.DownloadBytesAsync(ArtifactClient.At(exp, neighbour, "d/1.txt")));
    }

    [Fact]
    public async Task ASecondUploadOverwritesAndEmptyAndChunkedBodiesWork()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var file = ArtifactClient.At(exp, run, "model/data.bin");
        await Client.PutAsync(file, "first version, longer"u8.ToArray());
        await Client.PutAsync(file, "second"u8.ToArray());
        Assert.Equal("second"u8.ToArray(), await Client.DownloadBytesAsync(file));

        await Client.PutAsync(ArtifactClient.At(exp, run, "empty.txt"), [], "text/plain");
        Assert.Empty(await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, "empty.txt")));

        // No Content-Length: the body streams in as it comes, block by block (three blocks here).
        var big = new byte[9 * 1024 * 1024 + 1];
        new Random(7).NextBytes(big);
        foreach (var (path, bytes) in new[] { ("chunked-empty.bin", Array.Empty<byte>()), ("chunked-big.bin", big) })
        {
            using var content = new UnknownLengthContent(bytes);
            using var response = await Client.SendAsync(HttpMethod.Put, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, run, path), content);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.Equal(bytes, await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, path)));
        }
        var sizes = (await Client.ListAsync($"{exp}/{run}/artifacts"))["files"]!.AsArray()
            .Where(f => !(bool)f!["is_dir"]!).ToDictionary(f => (string)f!["path"]!, f => (long)f!["file_size"]!);
        Assert.Equal(new Dictionary<string, long> { ["chunked-big.bin"] = big.Length, ["chunked-empty.bin"] = 0, ["empty.txt"] = 0 }, sizes);
    }

    /// <summary>A body of unknown length, as a chunked request sends it.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private async Task<JsonNode> CreateMultipartAsync(string dir, string localPath, int parts)
    {
        using var response = await Client.PostJsonAsync(ArtifactClient.Proxy + "mpu/create/" + dir, new { path = localPath, num_parts = parts });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    /// <summary>PUTs a part the way MLflow's client does: a bare request with only the credential's headers.</summary>
    private async Task<object> PutPartAsync(JsonNode credential, byte[] bytes)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, (string)credential["url"]!) { Content = new ByteArrayContent(bytes) };
        foreach (var (name, value) in credential["headers"]!.AsObject()) request.Headers.TryAddWithoutValidation(name, (string)value!);
        using var response = await Client.Blobs.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return new { part_number = (int)credential["part_number"]!, etag = response.Headers.ETag?.Tag ?? "", url = (string)credential["url"]! };
    }

    private Task<HttpResponseMessage> FinishAsync(string op, string dir, string localPath, string? uploadId, IEnumerable<object> parts) =>
        Client.PostJsonAsync($"{ArtifactClient.Proxy}mpu/{op}/{dir}", new { path = localPath, upload_id = uploadId, parts });

    [Fact]
    public async Task MultipartPartsGoStraightToBlobStorageAndCompleteIntoOneFile()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var dir = ArtifactClient.At(exp, run, "models");
        var chunks = new[] { new byte[300_000], new byte[300_000], new byte[1234] };
        for (var i = 0; i < chunks.Length; i++) new Random(i).NextBytes(chunks[i]);

        var created = await CreateMultipartAsync(dir, "/home/alice/out/model.bin", chunks.Length);
        var uploadId = (string)created["upload_id"]!;
        var credentials = created["credentials"]!.AsArray();
        Assert.Equal([1, 2, 3], credentials.Select(c => (int)c!["part_number"]!));
        foreach (var credential in credentials)
        {
            var url = new Uri((string)credential!["url"]!);
            Assert.EndsWith($"/{dir}/model.bin", url.AbsolutePath, StringComparison.Ordinal);
            Assert.Contains("sr=b", url.Query, StringComparison.Ordinal);
            Assert.Contains("sp=w", url.Query, StringComparison.Ordinal);
            Assert.Contains("comp=block", url.Query, StringComparison.Ordinal);
        }
        // Parts may arrive in any order.
        var parts = new object[chunks.Length];
        foreach (var i in new[] { 2, 0, 1 }) parts[i] = await PutPartAsync(credentials[i]!, chunks[i]);
        Assert.Equal("{}", (await Client.ListAsync(dir)).ToJsonString()); // nothing is visible before complete

        using (var complete = await FinishAsync("complete", dir, "/home/alice/out/model.bin", uploadId, parts))
            Assert.True(complete.StatusCode == HttpStatusCode.OK, await complete.Content.ReadAsStringAsync());
        Assert.Equal(chunks.SelectMany(c => c), await Client.DownloadBytesAsync(dir + "/model.bin"));
        Assert.Equal(600_000 + 1234, (long)(await Client.ListAsync(dir))["files"]![0]!["file_size"]!);
    }

    [Fact]
    public async Task MultipartCompleteRefusesMissingOrWrongPartsAndBogusUploads()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var dir = ArtifactClient.At(exp, run, "models");
        var created = await CreateMultipartAsync(dir, "model.bin", 3);
        var uploadId = (string)created["upload_id"]!;
        var credentials = created["credentials"]!.AsArray();
        var part1 = await PutPartAsync(credentials[0]!, [1, 2, 3]);
        var part2 = await PutPartAsync(credentials[1]!, [4, 5]);
        object Listed(int n) => new { part_number = n, etag = "", url = (string)credentials[n - 1]!["url"]! };

        foreach (var (what, id, parts) in new (string, string?, object[])[]
                 {
                     ("part 3 never uploaded", uploadId, [part1, part2, Listed(3)]),
                     ("a part left out", uploadId, [part1, part2]),
                     ("parts out of order", uploadId, [part2, part1, Listed(3)]),
                     ("a part twice", uploadId, [part1, part1, part2]),
                     ("a part beyond num_parts", uploadId, [part1, part2, Listed(3), new { part_number = 4, etag = "" }]),
                     ("no parts", uploadId, []),
                     ("no upload_id", null, [part1, part2, Listed(3)]),
                     ("bogus upload_id", "not-an-upload", [part1, part2, Listed(3)]),
                     ("another upload's id", "0123456789abcdef0123456700000003", [part1, part2, Listed(3)]),
                 })
        {
            using var response = await FinishAsync("complete", dir, "model.bin", id, parts);
            await ArtifactClient.AssertErrorAsync(response, 400, "INVALID_PARAMETER_VALUE", what);
        }
        Assert.Equal("{}", (await Client.ListAsync(dir)).ToJsonString());

        using (var abort = await FinishAsync("abort", dir, "model.bin", uploadId, []))
        {
            Assert.Equal(HttpStatusCode.OK, abort.StatusCode);
            Assert.Equal("{}", await abort.Content.ReadAsStringAsync());
        }
        using (var bogusAbort = await FinishAsync("abort", dir, "model.bin", "nope", []))
            await ArtifactClient.AssertErrorAsync(bogusAbort, 400, "INVALID_PARAMETER_VALUE");
        foreach (var numParts in new[] { 0, -1, 50_001 })
        {
            using var response = await Client.PostJsonAsync(ArtifactClient.Proxy + "mpu/create/" + dir, new { path = "model.bin", num_parts = numParts });
            await ArtifactClient.AssertErrorAsync(response, 400, "INVALID_PARAMETER_VALUE", $"num_parts {numParts}");
        }
    }

    /// <summary>
    /// MLflow 2.10/2.11 clients with <c>MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true</c> post mpu/create with only the path
    /// below the run (<c>mpu/create</c>, <c>mpu/create/models</c>), and fall back to one PUT of the file when the
    /// answer is MLflow's "not supported" (<c>_UnsupportedMultipartUploadException</c>: 501, its message's start).
    /// </summary>
    [Fact]
    public async Task AMultipartUploadOutsideARunIsNotImplementedSoOldClientsFallBackToOnePut()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var bytes = new byte[3000];
        new Random(3).NextBytes(bytes);
        foreach (var dir in new[] { "", "/models", "/models/sub" })
        {
            foreach (var op in new[] { "create", "complete", "abort" })
            {
                using var response = await Client.PostJsonAsync($"{ArtifactClient.Proxy}mpu/{op}{dir}",
                    new { path = "/tmp/tmpk2j/model.bin", num_parts = 1, upload_id = "0123456789abcdef0123456700000001", parts = Array.Empty<object>() });
                var message = await ArtifactClient.AssertErrorAsync(response, 501, "NOT_IMPLEMENTED", $"mpu/{op}{dir}");
                Assert.StartsWith("Multipart upload is not supported for the current artifact repository", message, StringComparison.Ordinal);
            }
            // The client's fallback: one PUT below the run's artifact root.
            await Client.PutAsync(ArtifactClient.At(exp, run, dir.TrimStart('/') + (dir.Length > 0 ? "/" : "") + "model.bin"), bytes);
        }
        Assert.Equal(bytes, await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, "models/sub/model.bin")));

        // Traversal is still a bad request, run or no run.
        foreach (var bad in new[] { "mpu/create/..", "mpu/create/models/../../x", "mpu/create/%2e%2e/x", "mpu/create/a;b" })
        {
            using var response = await Client.SendRawAsync(HttpMethod.Post, ArtifactClient.Proxy + bad,
                System.Text.Encoding.UTF8.GetBytes("""{"path": "model.bin", "num_parts": 1}"""));
            await ArtifactClient.AssertErrorAsync(response, 400, "INVALID_PARAMETER_VALUE", bad);
        }
    }

    /// <summary>
    /// Another upload of the same file that completes first drops this upload's parts (Blob Storage discards every
    /// uncommitted block of a blob on a commit): complete cannot succeed, and must say why rather than blame the client.
    /// </summary>
    [Fact]
    public async Task AMultipartUploadOvertakenByAnotherUploadOfTheFileSaysSo()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var dir = ArtifactClient.At(exp, run, "models");
        var created = await CreateMultipartAsync(dir, "model.bin", 1);
        var part = await PutPartAsync(created["credentials"]![0]!, [1, 2, 3]);
        var other = new byte[5 * 1024 * 1024];
        await Client.PutAsync(dir + "/model.bin", other); // the other upload commits first

        using var complete = await FinishAsync("complete", dir, "model.bin", (string)created["upload_id"]!, [part]);
        var message = await ArtifactClient.AssertErrorAsync(complete, 400, "INVALID_PARAMETER_VALUE");
        Assert.Contains("another upload of the same file", message, StringComparison.Ordinal);
        Assert.Equal(other, await Client.DownloadBytesAsync(dir + "/model.bin"));
    }

    [Fact]
    public async Task MissingFilesAreNotFound()
    {
        var (exp, run) = await Client.CreateRunAsync();
        await Client.PutAsync(ArtifactClient.At(exp, run, "dir/file.txt"), [1]);
        foreach (var path in new[] { "missing.txt", "dir", "dir/file.txt/more" })
        {
            using var response = await Client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, run, path));
            await ArtifactClient.AssertErrorAsync(response, 404, "RESOURCE_DOES_NOT_EXIST", path);
        }
    }

    /// <summary>With redirects switched off (-1) or above a size, Tracker streams the bytes itself, as an attachment.</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(100)]
    public async Task DownloadsStreamThroughTrackerWhenConfigured(long redirectFromBytes)
    {
        using var app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Artifacts:RedirectDownloadsFromBytes"] = redirectFromBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var client = new ArtifactClient(app);
        var (exp, run) = await client.CreateRunAsync();
        var small = "<html><script>alert(1)</script></html>"u8.ToArray();
        await client.PutAsync(ArtifactClient.At(exp, run, "reports/page.html"), small, "text/html");
        var large = new byte[150];
        await client.PutAsync(ArtifactClient.At(exp, run, "large.bin"), large);

        using (var response = await client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, run, "reports/page.html")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(small, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(small.Length, response.Content.Headers.ContentLength);
            Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("page.html", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
        using (var response = await client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, run, "large.bin")))
        {
            Assert.Equal(redirectFromBytes < 0 ? HttpStatusCode.OK : HttpStatusCode.TemporaryRedirect, response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TemporaryRedirect)
                Assert.Equal(large, await client.Blobs.GetByteArrayAsync(response.Headers.Location));
            else
                Assert.Equal(large, await response.Content.ReadAsByteArrayAsync());
        }
        using (var missing = await client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(exp, run, "reports/missing.html")))
        {
            Assert.Equal("application/json", missing.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", missing.Headers.GetValues("X-Content-Type-Options").Single());
            await ArtifactClient.AssertErrorAsync(missing, 404, "RESOURCE_DOES_NOT_EXIST");
        }
    }
}
