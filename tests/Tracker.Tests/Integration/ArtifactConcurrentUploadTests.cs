using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Several clients uploading the same artifact path at once (a retry while the first attempt still runs): each gets a
/// 2xx (last writer wins) or a retryable 503, never a 500, and the file is always one writer's complete bytes. In Blob
/// Storage a block list commit drops every uncommitted block of the blob, another writer's in-flight ones included.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactConcurrentUploadTests(AzuriteFixture azurite)
{
    private const int Writers = 4;
    private const int BodyBytes = 9 * 1024 * 1024 + 17; // three 4 MiB blocks
    private const int GateAt = 5 * 1024 * 1024; // every writer has a block staged before any finishes

    [Fact]
    public async Task ConcurrentMultiBlockUploadsOfOnePathNeverFailAndLeaveOneWritersBytes()
    {
        var container = "concurrent-" + Guid.NewGuid().ToString("N")[..12];
        await using var tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string> { ["Tracker__Storage__ArtifactsContainer"] = container });
        using var http = new HttpClient { BaseAddress = tracker.Url, Timeout = TimeSpan.FromMinutes(5) };
        using var run = await http.PostAsJsonAsync("/api/2.0/mlflow/runs/create", new { experiment_id = "0" });
        var root = ((string)(await run.Content.ReadFromJsonAsync<JsonNode>())!["run"]!["info"]!["artifact_uri"]!)["mlflow-artifacts:/".Length..];
        var url = $"/api/2.0/mlflow-artifacts/artifacts/{root}/same.txt";

        var bodies = Enumerable.Range(0, Writers).Select(i =>
        {
            var bytes = new byte[BodyBytes];
            new Random(i).NextBytes(bytes);
            return bytes;
        }).ToArray();
        var gate = new Gate(Writers);
        // Half send a Content-Length, half stream chunked, as clients do.
        var answers = await Task.WhenAll(bodies.Select(async (bytes, i) =>
        {
            using var response = await http.PutAsync(url, new GatedContent(bytes, gate, knownLength: i % 2 == 0));
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }));

        Assert.True(answers.All(a => a.Item1 is 200 or 503), string.Join("\n", answers.Select(a => $"{a.Item1} {a.Item2}")) + "\n" + tracker.Output);
        Assert.Contains(answers, a => a.Item1 == 200);
        using var get = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var stored = SHA256.HashData(await get.Content.ReadAsByteArrayAsync());
        Assert.Single(bodies, b => SHA256.HashData(b).SequenceEqual(stored));

        // Nothing else is left behind, visible or not.
        Assert.Equal([$"{root}/same.txt"], await ArtifactClient.BlobNamesAsync(azurite, container));
    }

    /// <summary>Lets every writer through once all have sent their first <see cref="GateAt"/> bytes.</summary>
    private sealed class Gate(int writers)
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        public Task PassAsync()
        {
            if (Interlocked.Increment(ref _arrived) == writers) _open.SetResult();
            return _open.Task.WaitAsync(TimeSpan.FromMinutes(1));
        }
    }

    private sealed class GatedContent(byte[] bytes, Gate gate, bool knownLength) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, GateAt));
            await stream.FlushAsync();
            await gate.PassAsync();
            await stream.WriteAsync(bytes.AsMemory(GateAt));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return knownLength;
        }
    }
}
