using System.Net;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Artifacts follow their run: unknown runs and runs of deleted experiments have none (404), a deleted run's artifacts
/// can be read but not changed (400) until it is restored.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactLifecycleTests(AzuriteFixture azurite) : IDisposable
{
    private readonly TrackerApp _app = new(azurite);
    private ArtifactClient? _client;
    private ArtifactClient Client => _client ??= new ArtifactClient(_app);

    public void Dispose()
    {
        _client?.Dispose();
        _app.Dispose();
    }

    /// <summary>Every artifact operation on <c>a.txt</c> (or its directory) of one run, by name.</summary>
    private Dictionary<string, Func<Task<HttpResponseMessage>>> Operations(string experimentId, string runId)
    {
        var file = ArtifactClient.Proxy + "artifacts/" + ArtifactClient.At(experimentId, runId, "a.txt");
        var dir = ArtifactClient.At(experimentId, runId, "");
        return new()
        {
            ["upload"] = () => Client.SendAsync(HttpMethod.Put, file, new ByteArrayContent("new"u8.ToArray())),
            ["delete"] = () => Client.SendAsync(HttpMethod.Delete, file),
            ["mpu/create"] = () => Client.PostJsonAsync(ArtifactClient.Proxy + "mpu/create/" + dir.TrimEnd('/'), new { path = "big.bin", num_parts = 2 }),
            ["upload-url"] = () => Client.PostJsonAsync(ArtifactClient.Native + "upload-url", new { run_id = runId, path = "b.txt" }),
            ["download"] = () => Client.SendAsync(HttpMethod.Get, file),
            ["list"] = () => Client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts?path=" + Uri.EscapeDataString(dir.TrimEnd('/'))),
            ["artifacts/list"] = () => Client.SendAsync(HttpMethod.Get, $"{ArtifactClient.Tracking}artifacts/list?run_id={runId}"),
            ["download-url"] = () => Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { run_id = runId, path = "a.txt" }),
        };
    }

    private static readonly string[] Writes = ["upload", "delete", "mpu/create", "upload-url"];

    private static readonly string[] Reads = ["download", "list", "artifacts/list", "download-url"];

    /// <summary>Runs the operations and expects each to fail with the error, or (no error) to succeed.</summary>
    private async Task ExpectAsync(string experimentId, string runId, IEnumerable<string> operations, int status = 0, string? errorCode = null)
    {
        var all = Operations(experimentId, runId);
        foreach (var name in operations)
        {
            using var response = await all[name]();
            if (errorCode is not null)
            {
                await ArtifactClient.AssertErrorAsync(response, status, errorCode, name);
                continue;
            }
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task AnUnknownRunHasNoArtifacts()
    {
        var (exp, run) = await Client.CreateRunAsync();
        var unknown = run[..^12] + "00000000" + run[^8..]; // same experiment, never issued
        var unknownExperiment = run[..^8] + "0000ffff"; // an experiment that does not exist
        foreach (var (experimentId, runId) in new[] { (exp, unknown), ("65535", unknownExperiment) })
            await ExpectAsync(experimentId, runId, Operations(experimentId, runId).Keys, 404, "RESOURCE_DOES_NOT_EXIST");
        using var malformed = await Client.SendAsync(HttpMethod.Get, $"{ArtifactClient.Tracking}artifacts/list?run_id=not-a-run");
        await ArtifactClient.AssertErrorAsync(malformed, 404, "RESOURCE_DOES_NOT_EXIST");
    }

    [Fact]
    public async Task ARunOfADeletedExperimentHasNoArtifacts()
    {
        var exp = await Client.CreateExperimentAsync("doomed");
        var (_, run) = await Client.CreateRunAsync(exp);
        await Client.PutAsync(ArtifactClient.At(exp, run, "a.txt"), "a"u8.ToArray());
        await Client.PostOkAsync(ArtifactClient.Tracking + "experiments/delete", new { experiment_id = exp });

        await ExpectAsync(exp, run, Operations(exp, run).Keys, 404, "RESOURCE_DOES_NOT_EXIST");

        await Client.PostOkAsync(ArtifactClient.Tracking + "experiments/restore", new { experiment_id = exp });
        Assert.Equal("a"u8.ToArray(), await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, "a.txt")));
    }

    [Fact]
    public async Task ADeletedRunIsReadOnlyUntilRestored()
    {
        var (exp, run) = await Client.CreateRunAsync();
        await Client.PutAsync(ArtifactClient.At(exp, run, "a.txt"), "a"u8.ToArray());
        await Client.PostOkAsync(ArtifactClient.Tracking + "runs/delete", new { run_id = run });

        await ExpectAsync(exp, run, Writes, 400, "INVALID_PARAMETER_VALUE");
        Assert.Equal("a"u8.ToArray(), await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, "a.txt")));
        await ExpectAsync(exp, run, Reads);
        Assert.Single((await Client.ListAsync(ArtifactClient.At(exp, run, "")[..^1]))["files"]!.AsArray());

        await Client.PostOkAsync(ArtifactClient.Tracking + "runs/restore", new { run_id = run });
        await ExpectAsync(exp, run, Writes);
        await Client.PutAsync(ArtifactClient.At(exp, run, "a.txt"), "again"u8.ToArray());
        Assert.Equal("again"u8.ToArray(), await Client.DownloadBytesAsync(ArtifactClient.At(exp, run, "a.txt")));
    }
}
