using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Hundreds of megabytes through a Tracker process whose GC heap is capped far below the file size: uploads and
/// downloads must stream, and multipart parts must never touch the server at all.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactStreamingTests(AzuriteFixture azurite)
{
    private const long FileBytes = 200L * 1024 * 1024;
    private const long PartBytes = 10L * 1024 * 1024;
    private const long HeapLimitBytes = 64L * 1024 * 1024;

    private static readonly Dictionary<string, string> BoundedServer = new()
    {
        ["DOTNET_GCHeapHardLimit"] = $"0x{HeapLimitBytes:x}",
        // Stream every download through the server, so this test covers the streamed path too.
        ["Tracker__Artifacts__RedirectDownloadsFromBytes"] = "-1",
    };

    [Fact]
    public async Task A200MegabyteProxiedUploadAndDownloadStreamThroughABoundedHeap()
    {
        await using var tracker = await TrackerProcess.StartAsync(azurite, BoundedServer);
        using var http = new HttpClient { BaseAddress = tracker.Url, Timeout = TimeSpan.FromMinutes(5) };
        var root = await CreateRunArtifactRootAsync(http);
        var url = $"/api/2.0/mlflow-artifacts/artifacts/{root}/checkpoints/model.bin";

        using (var upload = new StreamContent(new PatternStream(FileBytes)))
        {
            upload.Headers.ContentLength = FileBytes;
            using var put = await http.PutAsync(url, upload);
            Assert.True(put.IsSuccessStatusCode, $"{put.StatusCode}: {await put.Content.ReadAsStringAsync()}\n{tracker.Output}");
        }

        using var get = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)get.StatusCode);
        Assert.Equal(FileBytes, get.Content.Headers.ContentLength);
        Assert.Equal(await PatternStream.HashAsync(new PatternStream(FileBytes)), await PatternStream.HashAsync(await get.Content.ReadAsStreamAsync()));
        Assert.False(tracker.HasExited, tracker.Output);
        Assert.True(tracker.PeakResidentBytes() < FileBytes, $"Peak RSS {tracker.PeakResidentBytes() >> 20} MiB for a {FileBytes >> 20} MiB file.");
    }

    [Fact]
    public async Task A200MegabyteMultipartUploadGoesStraightToBlobStorage()
    {
        await using var tracker = await TrackerProcess.StartAsync(azurite, BoundedServer);
        using var http = new HttpClient { BaseAddress = tracker.Url, Timeout = TimeSpan.FromMinutes(5) };
        using var storage = new HttpClient { Timeout = TimeSpan.FromMinutes(5) }; // what the MLflow client uses for parts: no Tracker code
        var root = await CreateRunArtifactRootAsync(http);
        var parts = (int)((FileBytes + PartBytes - 1) / PartBytes);

        var create = await PostAsync(http, $"/api/2.0/mlflow-artifacts/mpu/create/{root}/checkpoints", new { path = "/home/me/model.bin", num_parts = parts });
        var credentials = create["credentials"]!.AsArray();
        Assert.Equal(parts, credentials.Count);

        // The parts in parallel, four at a time like the client's thread pool; each part is its own slice of the file.
        var source = new PatternStream(FileBytes);
        var uploaded = new JsonArray();
        for (var first = 0; first < parts; first += 4)
        {
            var batch = new List<(JsonNode Credential, byte[] Bytes)>();
            for (var i = first; i < Math.Min(first + 4, parts); i++)
            {
                var bytes = new byte[Math.Min(PartBytes, FileBytes - i * PartBytes)];
                await source.ReadExactlyAsync(bytes);
                batch.Add((credentials[i]!, bytes));
            }
            var responses = await Task.WhenAll(batch.Select(async part =>
            {
                using var response = await storage.PutAsync((string)part.Credential["url"]!, new ByteArrayContent(part.Bytes));
                Assert.Equal(201, (int)response.StatusCode);
                return new JsonObject
                {
                    ["part_number"] = (int)part.Credential["part_number"]!,
                    ["etag"] = response.Headers.ETag?.Tag ?? "",
                    ["url"] = (string)part.Credential["url"]!,
                };
            }));
            foreach (var part in responses) uploaded.Add(part);
        }
        var heapAfterParts = tracker.PeakResidentBytes();

        await PostAsync(http, $"/api/2.0/mlflow-artifacts/mpu/complete/{root}/checkpoints",
            new JsonObject { ["path"] = "/home/me/model.bin", ["upload_id"] = (string)create["upload_id"]!, ["parts"] = uploaded });

        var list = await http.GetFromJsonAsync<JsonNode>($"/api/2.0/mlflow-artifacts/artifacts?path={Uri.EscapeDataString(root + "/checkpoints")}");
        var file = Assert.Single(list!["files"]!.AsArray());
        Assert.Equal("model.bin", (string)file!["path"]!);
        Assert.Equal(FileBytes, (long)file["file_size"]!);

        var runId = root.Split('/')[1];
        var download = await PostAsync(http, "/api/2.0/tracker/artifacts/download-url", new { run_id = runId, path = "checkpoints/model.bin" });
        using var get = await storage.GetAsync((string)download["url"]!, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)get.StatusCode);
        Assert.Equal(await PatternStream.HashAsync(new PatternStream(FileBytes)), await PatternStream.HashAsync(await get.Content.ReadAsStreamAsync()));
        Assert.True(heapAfterParts < FileBytes, $"Peak RSS {heapAfterParts >> 20} MiB while the parts went to storage.");
    }

    /// <summary>
    /// MLflow's client asks for every part's URL in one request and does not page, so 50,000 parts (Azure's limit) make
    /// a ~19 MiB answer: it must stream out as it is made, never sit whole in the server's heap.
    /// </summary>
    [Fact]
    public async Task A50000PartMultipartCreateStreamsItsAnswerThroughABoundedHeap()
    {
        await using var tracker = await TrackerProcess.StartAsync(azurite, BoundedServer);
        using var http = new HttpClient { BaseAddress = tracker.Url, Timeout = TimeSpan.FromMinutes(5) };
        var root = await CreateRunArtifactRootAsync(http);
        const int parts = 50_000;

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/2.0/mlflow-artifacts/mpu/create/{root}/checkpoints")
        {
            Content = JsonContent.Create(new { path = "/home/me/model.bin", num_parts = parts }),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode) Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{tracker.Output}");
        Assert.Null(response.Content.Headers.ContentLength); // streamed, not measured first
        Assert.True(response.Headers.TransferEncodingChunked);
        using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());

        var uploadId = body.RootElement.GetProperty("upload_id").GetString()!;
        var credentials = body.RootElement.GetProperty("credentials");
        Assert.Equal(parts, credentials.GetArrayLength());
        var blockIds = new HashSet<string>();
        var number = 0;
        foreach (var credential in credentials.EnumerateArray())
        {
            Assert.Equal(++number, credential.GetProperty("part_number").GetInt32());
            var url = new Uri(credential.GetProperty("url").GetString()!);
            Assert.EndsWith($"/{root}/checkpoints/model.bin", url.AbsolutePath, StringComparison.Ordinal);
            var query = System.Web.HttpUtility.ParseQueryString(url.Query);
            Assert.Equal(("block", "w", "b"), (query["comp"], query["sp"], query["sr"]));
            Assert.True(blockIds.Add(query["blockid"]!), $"part {number} repeats a block id");
        }
        Assert.False(tracker.HasExited, tracker.Output);

        // The URLs work: the last part, alone, is accepted by Blob Storage (and abort needs nothing undone).
        using var storage = new HttpClient();
        using var put = await storage.PutAsync(credentials[parts - 1].GetProperty("url").GetString(), new ByteArrayContent([1, 2, 3]));
        Assert.Equal(201, (int)put.StatusCode);
        using var abort = await http.PostAsJsonAsync($"/api/2.0/mlflow-artifacts/mpu/abort/{root}/checkpoints", new { path = "/home/me/model.bin", upload_id = uploadId });
        Assert.Equal(200, (int)abort.StatusCode);
    }

    private static async Task<string> CreateRunArtifactRootAsync(HttpClient http)
    {
        var run = await PostAsync(http, "/api/2.0/mlflow/runs/create", new { experiment_id = "0" });
        var uri = (string)run["run"]!["info"]!["artifact_uri"]!;
        return uri["mlflow-artifacts:/".Length..];
    }

    private static async Task<JsonNode> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
