using System.Net;
using System.Text.Json;
using Azure.Storage.Blobs;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Security baseline §1.1 and §4 cases 1-3: every artifact route, and every signed-URL request, refuses every way of
/// naming something outside the run's artifact directory with 400 before touching storage, and nothing outside the
/// run is written, deleted or read. Each bad path is tried on every route.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ArtifactPathSafetyTests(AzuriteFixture azurite, ArtifactPathSafetyTests.Runs runs) : IClassFixture<ArtifactPathSafetyTests.Runs>
{
    /// <summary>
    /// One bad path: as it goes into a URL path (what a client would put on the wire; <c>#</c>, <c>?</c> and control
    /// characters escaped so they reach the server as path text), as a value (query parameter, JSON field), and whether
    /// its last segment alone is bad (multipart uploads use only the basename of the client's local path).
    /// </summary>
    public sealed record BadPath(string Name, string Url, string Value, bool BadBasename)
    {
        public override string ToString() => Name;
    }

    public static readonly TheoryData<BadPath> BadPaths =
    [
        new("..", "..", "..", BadBasename: true),
        new("../x", "../x", "../x", false),
        new("a/../x (would normalise to an existing file)", "a/../x", "a/../x", false),
        new("a/../../x", "a/../../x", "a/../../x", false),
        new("../../<other run>/artifacts/secret.txt", "../../{other}/artifacts/secret.txt", "../../{other}/artifacts/secret.txt", false),
        new("%2e%2e/x", "%2e%2e/x", "%2e%2e/x", false),
        new("%2E%2E/%2E%2E/x", "%2E%2E/%2E%2E/x", "%2E%2E/%2E%2E/x", false),
        new("%252e%252e%252f (double-encoded)", "%252e%252e%252fx", "%252e%252e%252fx", true),
        new("%25252e%25252e (triple-encoded)", "%25252e%25252e/x", "%25252e%25252e/x", false),
        new("..%2f", "..%2fx", "..%2fx", true),
        new("..%5c", "..%5cx", "..%5cx", true),
        new(@"a\..\b", @"a%5C..%5Cb", @"a\..\b", false),
        new(@"a\b", @"a%5Cb", @"a\b", false),
        new("/etc/passwd", "/etc/passwd", "/etc/passwd", false),
        new("C:/x", "C:/x", "C:/x", false),
        new(@"C:\x", @"C:%5Cx", @"C:\x", false),
        new(@"\\host\share", @"%5C%5Chost%5Cshare", @"\\host\share", false),
        new("file:///etc/passwd", "file:///etc/passwd", "file:///etc/passwd", false),
        new("file:/etc/passwd", "file:/etc/passwd", "file:/etc/passwd", false),
        new("#frag", "%23frag", "#frag", true),
        new("x#/../../y", "x%23/../../y", "x#/../../y", false),
        new("?q", "%3Fq", "?q", true),
        new("x?path=../y", "x%3Fpath=../y", "x?path=../y", false),
        new("NUL", "a%00b", "a\0b", true),
        new("%2500 (encoded NUL)", "a%2500b", "a%00b", true),
        new("control character", "a%01b", "a\u0001b", true),
        new("CR LF", "a%0D%0Ab", "a\r\nb", true),
        new("DEL", "a%7Fb", "a\u007fb", true),
        new("a//b", "a//b", "a//b", false),
        // One trailing slash names a directory, which the client sends when it deletes a run's artifacts (unit-tested).
        new("two trailing slashes", "a//", "a//", true),
        new(".", ".", ".", true),
        new("./x", "./x", "./x", false),
        new("a/./b", "a/./b", "a/./b", false),
        new("%2e/x", "%2e/x", "%2e/x", false),
        new("..%c0%af (overlong '/')", "..%c0%afx", "..%c0%afx", true),
        new("%c0%ae%c0%ae (overlong '.')", "%c0%ae%c0%ae/x", "%c0%ae%c0%ae/x", false),
        new("%ff (not UTF-8)", "a%ffb", "a%ffb", true),
        new("a;b", "a;b", "a;b", true),
        new("over-long (blob name > 1024)", new string('a', 1100), new string('a', 1100), true),
        new("over-long, many segments", string.Join('/', Enumerable.Repeat("abcdefghi", 110)), string.Join('/', Enumerable.Repeat("abcdefghi", 110)), false),
    ];

    /// <summary>A Tracker with a container of its own, holding two runs with known files in one experiment, and a second experiment.</summary>
    public sealed class Runs(AzuriteFixture azurite) : IAsyncLifetime
    {
        public string Container { get; } = "paths-" + Guid.NewGuid().ToString("N")[..12];
        public TrackerApp App { get; private set; } = null!;
        internal ArtifactClient Client { get; private set; } = null!;
        public string ExperimentId { get; private set; } = "";
        public string OtherExperimentId { get; private set; } = "";
        public string RunId { get; private set; } = "";
        public string OtherRunId { get; private set; } = "";
        public List<string> Blobs { get; private set; } = [];

        public async Task InitializeAsync()
        {
            App = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["Tracker:Storage:ArtifactsContainer"] = Container });
            Client = new ArtifactClient(App);
            ExperimentId = await Client.CreateExperimentAsync("paths");
            OtherExperimentId = await Client.CreateExperimentAsync("elsewhere");
            (_, RunId) = await Client.CreateRunAsync(ExperimentId);
            (_, OtherRunId) = await Client.CreateRunAsync(ExperimentId);
            await PutFilesAsync();
            Blobs = await ArtifactClient.BlobNamesAsync(azurite, Container);
            Assert.Equal(4, Blobs.Count);
        }

        private async Task PutFilesAsync()
        {
            await Client.PutAsync(ArtifactClient.At(ExperimentId, RunId, "x"), "x"u8.ToArray());
            await Client.PutAsync(ArtifactClient.At(ExperimentId, RunId, "a/keep.txt"), "keep"u8.ToArray());
            await Client.PutAsync(ArtifactClient.At(ExperimentId, OtherRunId, "x"), "other x"u8.ToArray());
            await Client.PutAsync(ArtifactClient.At(ExperimentId, OtherRunId, "secret.txt"), "secret"u8.ToArray());
        }

        /// <summary>Puts the files back if a case that failed changed them, so each case starts from the same state.</summary>
        public async Task RestoreAsync()
        {
            if ((await ArtifactClient.BlobNamesAsync(azurite, Container)).SequenceEqual(Blobs)) return;
            var container = new BlobContainerClient(azurite.ConnectionString, Container);
            await foreach (var blob in container.GetBlobsAsync()) await container.DeleteBlobAsync(blob.Name);
            await PutFilesAsync();
        }

        public Task DisposeAsync()
        {
            Client.Dispose();
            App.Dispose();
            return Task.CompletedTask;
        }
    }

    private ArtifactClient Client => runs.Client;
    private string Dir(string relative) => ArtifactClient.At(runs.ExperimentId, runs.RunId, relative);

    /// <summary>Every route that takes an artifact path, each sent the bad path in the form that route takes it.</summary>
    private IEnumerable<(string Route, Func<Task<HttpResponseMessage>> Send)> Routes(BadPath bad)
    {
        var url = bad.Url.Replace("{other}", runs.OtherRunId, StringComparison.Ordinal);
        var value = bad.Value.Replace("{other}", runs.OtherRunId, StringComparison.Ordinal);
        var artifacts = ArtifactClient.Proxy + "artifacts/";
        const string uploadId = "0123456789abcdef0123456700000001"; // well-formed, so only the path can be what is refused
        object Parts(string dirUrl) => new
        {
            path = "/home/alice/model.bin",
            upload_id = uploadId,
            parts = new[] { new { part_number = 1, etag = "", url = "http://127.0.0.1/" + dirUrl } },
        };

        yield return ("PUT artifacts/<path>", () => Client.SendRawAsync(HttpMethod.Put, artifacts + Dir(url), "pwned"u8.ToArray()));
        yield return ("GET artifacts/<path>", () => Client.SendRawAsync(HttpMethod.Get, artifacts + Dir(url)));
        yield return ("DELETE artifacts/<path>", () => Client.SendRawAsync(HttpMethod.Delete, artifacts + Dir(url)));
        yield return ("GET artifacts?path=", () => Client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts?path=" + Uri.EscapeDataString(Dir(value))));
        foreach (var op in new[] { "create", "complete", "abort" })
        {
            yield return ($"POST mpu/{op}/<dir>", () => Client.SendRawAsync(HttpMethod.Post,
                $"{ArtifactClient.Proxy}mpu/{op}/{Dir(url)}",
                JsonSerializer.SerializeToUtf8Bytes(op == "create" ? new { path = "/home/alice/model.bin", num_parts = 1 } : Parts(url))));
            if (bad.BadBasename)
                yield return ($"POST mpu/{op} with the bad basename in path", () => Client.PostJsonAsync(
                    $"{ArtifactClient.Proxy}mpu/{op}/{Dir("models")}",
                    new { path = "/home/alice/" + value, num_parts = 1, upload_id = uploadId, parts = new[] { new { part_number = 1, etag = "" } } }));
        }
        foreach (var api in new[] { ArtifactClient.Tracking, "/ajax-api/2.0/mlflow/" })
            yield return ($"GET {api}artifacts/list", () => Client.SendAsync(HttpMethod.Get,
                $"{api}artifacts/list?run_id={runs.RunId}&path={Uri.EscapeDataString(value)}"));
        yield return ("POST tracker upload-url", () => Client.PostJsonAsync(ArtifactClient.Native + "upload-url", new { run_id = runs.RunId, path = value }));
        yield return ("POST tracker download-url", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { run_id = runs.RunId, path = value }));
        yield return ("POST tracker download-url {artifact_uri: runs:/…}", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url",
            new { artifact_uri = $"runs:/{runs.RunId}/{value}" }));
        yield return ("POST tracker download-url {artifact_uri: mlflow-artifacts:/…}", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url",
            new { artifact_uri = "mlflow-artifacts:/" + Dir(value) }));
    }

    [Theory]
    [MemberData(nameof(BadPaths))]
    public async Task EveryRouteRefusesThePathAndTouchesNothing(BadPath bad)
    {
        await runs.RestoreAsync();
        var failures = new List<string>();
        foreach (var (route, send) in Routes(bad))
        {
            using var response = await send();
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.BadRequest || !text.Contains("\"INVALID_PARAMETER_VALUE\"", StringComparison.Ordinal)
                || !text.Contains("Invalid path", StringComparison.Ordinal))
                failures.Add($"{route}: {(int)response.StatusCode} {text[..Math.Min(text.Length, 300)]}");
        }
        Assert.True(failures.Count == 0, $"{bad.Name}:\n" + string.Join("\n", failures));
        Assert.Equal(runs.Blobs, await ArtifactClient.BlobNamesAsync(azurite, runs.Container));
    }

    /// <summary>The control for the table: written as it is meant, the same requests succeed, so the 400s above are the paths'.</summary>
    [Fact]
    public async Task TheSameRoutesAcceptAPlainPath()
    {
        using var get = await Client.SendRawAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + Dir("a/keep.txt"));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        using var list = await Client.SendAsync(HttpMethod.Get, $"{ArtifactClient.Tracking}artifacts/list?run_id={runs.RunId}&path=a");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using var signed = await Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { artifact_uri = $"runs:/{runs.RunId}/a/keep.txt" });
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        using var create = await Client.PostJsonAsync(ArtifactClient.Proxy + "mpu/create/" + Dir("a"), new { path = @"C:\Users\alice\model.bin", num_parts = 1 });
        Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        Assert.Equal(runs.Blobs, await ArtifactClient.BlobNamesAsync(azurite, runs.Container));
    }

    /// <summary>One trailing slash names a directory: fine for listings, never a file, whichever route or form names it.</summary>
    [Fact]
    public async Task ATrailingSlashGetsOneVerdictOnEveryRoute()
    {
        foreach (var (what, send) in new (string, Func<Task<HttpResponseMessage>>)[]
                 {
                     ("download-url path", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { run_id = runs.RunId, path = "x/" })),
                     ("download-url runs:/", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { artifact_uri = $"runs:/{runs.RunId}/x/" })),
                     ("download-url mlflow-artifacts:/", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { artifact_uri = "mlflow-artifacts:/" + Dir("x/") })),
                     ("upload-url", () => Client.PostJsonAsync(ArtifactClient.Native + "upload-url", new { run_id = runs.RunId, path = "x/" })),
                     ("GET", () => Client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts/" + Dir("x/"))),
                     ("PUT", () => Client.SendAsync(HttpMethod.Put, ArtifactClient.Proxy + "artifacts/" + Dir("x/"), new ByteArrayContent([1]))),
                 })
        {
            using var response = await send();
            Assert.Equal("Invalid path", await ArtifactClient.AssertErrorAsync(response, 400, "INVALID_PARAMETER_VALUE", what));
        }
        foreach (var api in new[] { ArtifactClient.Tracking, "/ajax-api/2.0/mlflow/" })
        {
            using var response = await Client.SendAsync(HttpMethod.Get, $"{api}artifacts/list?run_id={runs.RunId}&path=a%2F");
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.Contains("\"a/keep.txt\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Contains("\"keep.txt\"", (await Client.ListAsync(Dir("a/"))).ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(runs.Blobs, await ArtifactClient.BlobNamesAsync(azurite, runs.Container));
    }

    [Fact]
    public async Task AnotherRunsFilesAreNotReachableThroughARunsUri()
    {
        foreach (var uri in new[]
                 {
                     $"runs:/{runs.RunId}/../{runs.OtherRunId}/secret.txt",
                     $"runs:/{runs.RunId}/%2e%2e/{runs.OtherRunId}/secret.txt",
                     $"mlflow-artifacts:/{Dir($"../../{runs.OtherRunId}/artifacts/secret.txt")}",
                     $"mlflow-artifacts:/{runs.ExperimentId}/{runs.RunId}/artifacts/..%2f..%2f{runs.OtherRunId}/artifacts/secret.txt",
                 })
        {
            using var response = await Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { artifact_uri = uri });
            await ArtifactClient.AssertErrorAsync(response, 400, "INVALID_PARAMETER_VALUE", uri);
        }
    }

    /// <summary>The experiment in a proxy path must be the run's: a run id under another experiment names no run.</summary>
    [Fact]
    public async Task ARunUnderAnotherExperimentsPathIsNotFound()
    {
        var elsewhere = ArtifactClient.At(runs.OtherExperimentId, runs.RunId, "x");
        var artifacts = ArtifactClient.Proxy + "artifacts/";
        foreach (var (what, send) in new (string, Func<Task<HttpResponseMessage>>)[]
                 {
                     ("PUT", () => Client.SendAsync(HttpMethod.Put, artifacts + elsewhere, new ByteArrayContent([1]))),
                     ("GET", () => Client.SendAsync(HttpMethod.Get, artifacts + elsewhere)),
                     ("DELETE", () => Client.SendAsync(HttpMethod.Delete, artifacts + elsewhere)),
                     ("list", () => Client.SendAsync(HttpMethod.Get, ArtifactClient.Proxy + "artifacts?path=" + Uri.EscapeDataString(elsewhere))),
                     ("mpu/create", () => Client.PostJsonAsync(ArtifactClient.Proxy + "mpu/create/" + elsewhere, new { path = "m.bin", num_parts = 1 })),
                     ("download-url", () => Client.PostJsonAsync(ArtifactClient.Native + "download-url", new { artifact_uri = "mlflow-artifacts:/" + elsewhere })),
                 })
        {
            using var response = await send();
            await ArtifactClient.AssertErrorAsync(response, 404, "RESOURCE_DOES_NOT_EXIST", what);
        }
        Assert.Equal(runs.Blobs, await ArtifactClient.BlobNamesAsync(azurite, runs.Container));
    }

    /// <summary>
    /// Tracker serves runs' artifact directories only; the rest of <c>mlflow-artifacts:/</c> is not a place (multipart
    /// uploads there are "not supported", so old clients fall back: ArtifactProxyTests).
    /// </summary>
    [Fact]
    public async Task ProxyPathsOutsideAnyRunsArtifactsAreRefused()
    {
        var (exp, run) = (runs.ExperimentId, runs.RunId);
        var artifacts = ArtifactClient.Proxy + "artifacts";
        foreach (var (what, send) in new (string, Func<Task<HttpResponseMessage>>)[]
                 {
                     ("PUT <exp>/x", () => Client.SendAsync(HttpMethod.Put, $"{artifacts}/{exp}/x", new ByteArrayContent([1]))),
                     ("PUT <exp>/<run>/other/x", () => Client.SendAsync(HttpMethod.Put, $"{artifacts}/{exp}/{run}/other/x", new ByteArrayContent([1]))),
                     ("PUT <exp>/<run>/artifacts (the directory itself)", () => Client.SendAsync(HttpMethod.Put, $"{artifacts}/{exp}/{run}/artifacts", new ByteArrayContent([1]))),
                     ("PUT x/<run>/artifacts/x", () => Client.SendAsync(HttpMethod.Put, $"{artifacts}/x/{run}/artifacts/x", new ByteArrayContent([1]))),
                     ("GET <exp>/<run>/other/x", () => Client.SendAsync(HttpMethod.Get, $"{artifacts}/{exp}/{run}/other/x")),
                     ("DELETE <exp>", () => Client.SendAsync(HttpMethod.Delete, $"{artifacts}/{exp}")),
                     ("DELETE <exp>/<run>", () => Client.SendAsync(HttpMethod.Delete, $"{artifacts}/{exp}/{run}")),
                     ("list without path (the root)", () => Client.SendAsync(HttpMethod.Get, artifacts)),
                     ("list ?path=", () => Client.SendAsync(HttpMethod.Get, artifacts + "?path=")),
                     ("list <exp>", () => Client.SendAsync(HttpMethod.Get, $"{artifacts}?path={exp}")),
                     ("list <exp>/<run>", () => Client.SendAsync(HttpMethod.Get, $"{artifacts}?path={exp}%2F{run}")),
                 })
        {
            using var response = await send();
            await ArtifactClient.AssertErrorAsync(response, 400, "INVALID_PARAMETER_VALUE", what);
        }
        Assert.Equal(runs.Blobs, await ArtifactClient.BlobNamesAsync(azurite, runs.Container));
    }
}
