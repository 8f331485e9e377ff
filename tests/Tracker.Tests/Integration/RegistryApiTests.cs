using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The registry over HTTP as the unmodified client drives it: loading a model by stage and by alias ends in the model
/// file's bytes through the artifact proxy (spec §7), and the security baseline's registry cases — sources (4),
/// text/plain writes (6), Host rebinding (7), downloads as attachments (8) and look-alike names (14).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RegistryApiTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    // Streamed through Tracker, so this test sees the headers Tracker sets on model files.
    private readonly TrackerApp _app = new(azurite, settings: new Dictionary<string, string> { ["Tracker:Artifacts:RedirectDownloadsFromBytes"] = "-1" });

    public void Dispose() => _app.Dispose();

    private async Task<JsonNode> OkAsync(HttpMethod method, string route, object? body = null)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(method, Api + route);
        if (body is not null) request.Content = ArtifactClient.Json(body);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {route}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string route, object? body = null)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(method, Api + route);
        if (body is not null) request.Content = ArtifactClient.Json(body);
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await TrackerApp.ReadAsync(response));
    }

    private async Task<int> VersionCountAsync(string name) =>
        (await OkAsync(HttpMethod.Get, $"model-versions/search?filter={Uri.EscapeDataString($"name = '{name}'")}"))["model_versions"]?.AsArray().Count ?? 0;

    /// <summary>
    /// Issue 9's concurrency case over HTTP: 16 parallel <c>model-versions/create</c> calls on one model, alternating
    /// between two app instances on the same storage (two Functions instances), get versions 1..16 — no gap, no
    /// duplicate — and both instances' searches then list all sixteen.
    /// </summary>
    [Fact]
    public async Task SixteenParallelCreatesThroughTwoInstancesGetVersionsOneToSixteen()
    {
        using var second = new TrackerApp(azurite, _app.TablePrefix);
        var name = "concurrent-" + Guid.NewGuid().ToString("N");
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name });
        using var artifacts = new ArtifactClient(_app);
        var (_, run) = await artifacts.CreateRunAsync(await artifacts.CreateExperimentAsync("concurrent-" + Guid.NewGuid().ToString("N")));
        var instances = new[] { _app, second };
        var created = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            using var client = instances[i % 2].CreateClient();
            using var response = await client.PostAsync(Api + "model-versions/create",
                ArtifactClient.Json(new { name, source = $"runs:/{run}/model", run_id = run }));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"create {i}: {(int)response.StatusCode} {text}");
            return long.Parse((string)JsonNode.Parse(text)!["model_version"]!["version"]!, System.Globalization.CultureInfo.InvariantCulture);
        }));
        Assert.Equal(Enumerable.Range(1, 16).Select(v => (long)v), created.Order());
        foreach (var instance in instances)
        {
            using var client = instance.CreateClient();
            var listed = JsonNode.Parse(await client.GetStringAsync(Api + $"model-versions/search?filter={Uri.EscapeDataString($"name = '{name}'")}"))!;
            Assert.Equal(Enumerable.Range(1, 16).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                listed["model_versions"]!.AsArray().Select(v => (string)v!["version"]!).OrderBy(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>
    /// <c>mlflow.pyfunc.load_model("models:/name/Production")</c> and <c>"models:/name@champion"</c>: the stage or alias
    /// lookup, get-download-uri (a runs:/ URI, as MLflow answers), runs/get for the run's artifact root, the proxy
    /// listing and one GET per file — ending in exactly the bytes logged, as an attachment.
    /// </summary>
    [Fact]
    public async Task ModelsLoadByStageAndByAliasThroughTheArtifactProxy()
    {
        using var artifacts = new ArtifactClient(_app);
        var (exp, run) = await artifacts.CreateRunAsync(await artifacts.CreateExperimentAsync("loading-" + Guid.NewGuid().ToString("N")));
        var files = new Dictionary<string, byte[]>
        {
            ["MLmodel"] = "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"u8.ToArray(),
            ["model.pkl"] = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray(),
        };
        foreach (var (file, bytes) in files) await artifacts.PutAsync(ArtifactClient.At(exp, run, "model/" + file), bytes);

        const string name = "loadable";
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name });
        await OkAsync(HttpMethod.Post, "model-versions/create", new { name, source = $"runs:/{run}/model", run_id = run }); // v1: stays in None
        await OkAsync(HttpMethod.Post, "model-versions/create", new { name, source = $"runs:/{run}/model", run_id = run });
        await OkAsync(HttpMethod.Post, "model-versions/transition-stage", new { name, version = "2", stage = "production", archive_existing_versions = true });
        await OkAsync(HttpMethod.Post, "registered-models/alias", new { name, alias = "champion", version = "2" });

        // models:/loadable/Production
        var byStage = await OkAsync(HttpMethod.Post, "registered-models/get-latest-versions", new { name, stages = new[] { "Production" } });
        var stageVersion = (string)Assert.Single(byStage["model_versions"]!.AsArray())!["version"]!;
        Assert.Equal("2", stageVersion);
        await AssertLoadsAsync(artifacts, name, stageVersion, files);

        // models:/loadable@champion
        var byAlias = await OkAsync(HttpMethod.Get, $"registered-models/alias?name={name}&alias=champion");
        Assert.Equal(["champion"], byAlias["model_version"]!["aliases"]!.AsArray().Select(a => (string)a!));
        await AssertLoadsAsync(artifacts, name, (string)byAlias["model_version"]!["version"]!, files);
    }

    private async Task AssertLoadsAsync(ArtifactClient artifacts, string name, string version, Dictionary<string, byte[]> files)
    {
        var uri = (string)(await OkAsync(HttpMethod.Get, $"model-versions/get-download-uri?name={name}&version={version}"))["artifact_uri"]!;
        Assert.StartsWith("runs:/", uri);
        // What the client's RunsArtifactRepository does with it: the run's artifact_uri, then the path below it.
        var runId = uri["runs:/".Length..].Split('/')[0];
        var root = (string)(await OkAsync(HttpMethod.Get, $"runs/get?run_id={runId}"))["run"]!["info"]!["artifact_uri"]!;
        var dir = root["mlflow-artifacts:/".Length..] + uri["runs:/".Length..][runId.Length..];
        var listed = (await artifacts.ListAsync(dir))["files"]!.AsArray().Select(f => (string)f!["path"]!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files.Keys.Order(StringComparer.Ordinal).ToList(), listed);
        foreach (var (file, bytes) in files)
        {
            using var response = await artifacts.DownloadAsync($"{dir}/{file}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
            // Case 8: a model file is a download, never a page of Tracker's origin.
            Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    /// <summary>
    /// Case 4, ModelVersionSource_TagBypass: a source that names anything but Tracker's own blobs is refused, with the
    /// prompt tag or other mlflow.* tags as much as without, and no version is stored.
    /// </summary>
    [Fact]
    public async Task ForeignSourcesAreRefusedWhateverTagsSay()
    {
        using var artifacts = new ArtifactClient(_app);
        var (exp, run) = await artifacts.CreateRunAsync(await artifacts.CreateExperimentAsync("sources-" + Guid.NewGuid().ToString("N")));
        var (_, otherRun) = await artifacts.CreateRunAsync(await artifacts.CreateExperimentAsync("sources-other-" + Guid.NewGuid().ToString("N")));
        const string name = "guarded";
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name });
        string[] sources =
        [
            "file:///etc/", "file:///etc/passwd", "/etc/passwd", "../../../etc", "etc", "s3://bucket/model", "http://169.254.169.254/latest/meta-data",
            "dbfs:/model", $"runs:/{run}/../../{otherRun}/model", $"runs:/{run}/%2e%2e/%2e%2e/x", $"runs:/{run}/model%00", $"runs:/{run}//model",
            $"mlflow-artifacts:/{exp}/{otherRun}/artifacts/model", $"mlflow-artifacts://evil.example/{exp}/{run}/artifacts/model",
        ];
        object[][] tagSets =
        [
            [],
            [new { key = "mlflow.prompt.is_prompt", value = "true" }],
            [new { key = "mlflow.prompt.is_prompt", value = "true" }, new { key = "mlflow.prompt.text", value = "hi" }, new { key = "mlflow.source.type", value = "LOCAL" }],
        ];
        foreach (var source in sources)
        foreach (var tags in tagSets)
        {
            var (status, body) = await SendAsync(HttpMethod.Post, "model-versions/create", new { name, source, run_id = run, tags });
            Assert.True(status is 400 or 404, $"{source} with {tags.Length} tags: {status} {body?.ToJsonString()}");
        }
        Assert.Equal(0, await VersionCountAsync(name));

        // The forms Tracker accepts resolve inside Tracker: its own URI as is, and models:/name/version to that version's location.
        var own = $"mlflow-artifacts:/{exp}/{run}/artifacts/model";
        var first = await OkAsync(HttpMethod.Post, "model-versions/create", new { name, source = own, run_id = run });
        Assert.Equal(own, (string)first["model_version"]!["source"]!);
        var copy = await OkAsync(HttpMethod.Post, "model-versions/create", new { name, source = $"models:/{name}/1" });
        Assert.Equal($"models:/{name}/1", (string)copy["model_version"]!["source"]!);
        Assert.Equal(own, (string)(await OkAsync(HttpMethod.Get, $"model-versions/get-download-uri?name={name}&version=2"))["artifact_uri"]!);
        Assert.Equal(404, (await SendAsync(HttpMethod.Post, "model-versions/create", new { name, source = $"models:/{name}/9" })).Status);
    }

    /// <summary>
    /// Case 14, NameCanonicalisation: foo, fo%6F, "foo " and NFC/NFD twins never become two models that display alike;
    /// each is the one model or a 400.
    /// </summary>
    [Fact]
    public async Task NamesThatDisplayAlikeAreOneModelOrRefused()
    {
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name = "foo" });
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name = "Jos\u00e9" }); // NFC
        foreach (var twin in new[] { "fo%6F", "foo ", " foo", "fo\u200Bo", "Jose\u0301" /* NFD */, "foo\u00A0" })
        {
            var (status, body) = await SendAsync(HttpMethod.Post, "registered-models/create", new { name = twin });
            Assert.True(status == 400, $"create '{twin}': {status} {body?.ToJsonString()}");
            Assert.Equal(400, (await SendAsync(HttpMethod.Post, "registered-models/rename", new { name = "foo", new_name = twin })).Status);
        }
        // In a URL, fo%6F IS foo: the one model.
        var viaQuery = await OkAsync(HttpMethod.Get, "registered-models/get?name=fo%6F");
        Assert.Equal("foo", (string)viaQuery["registered_model"]!["name"]!);
        var all = (await OkAsync(HttpMethod.Get, "registered-models/search?max_results=1000"))["registered_models"]!.AsArray()
            .Select(m => (string)m!["name"]!).Order(StringComparer.Ordinal);
        Assert.Equal(["Jos\u00e9", "foo"], all);
    }

    /// <summary>Case 6, ContentType_TextPlain_CSRF: a cross-site form post cannot create a model.</summary>
    [Fact]
    public async Task TextPlainCreateIsRefusedAndCreatesNothing()
    {
        using var client = _app.CreateClient();
        using var response = await client.PostAsync(Api + "registered-models/create", new StringContent("""{"name":"csrf-model"}""", Encoding.UTF8, "text/plain"));
        Assert.True((int)response.StatusCode is 400 or 415, $"{(int)response.StatusCode}");
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "registered-models/get?name=csrf-model")).Status);
    }

    /// <summary>Case 7, Host_Rebinding: a page rebound to Tracker's address cannot create or read models.</summary>
    [Theory]
    [InlineData("attacker.example")]
    [InlineData("203.0.113.7:5000")]
    public async Task ARequestForAnotherHostIsRefusedBeforeRouting(string host)
    {
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name = "rebind-target" });
        using var client = _app.CreateClient();
        using var create = new HttpRequestMessage(HttpMethod.Post, Api + "registered-models/create") { Content = ArtifactClient.Json(new { name = "rebound" }) };
        create.Headers.Host = host;
        using var created = await client.SendAsync(create);
        Assert.Equal(400, (int)created.StatusCode);
        using var read = new HttpRequestMessage(HttpMethod.Get, Api + "model-versions/get-download-uri?name=rebind-target&version=1");
        read.Headers.Host = host;
        using var answer = await client.SendAsync(read);
        Assert.Equal(400, (int)answer.StatusCode);
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "registered-models/get?name=rebound")).Status);
    }

    /// <summary>MLflow's request checks over HTTP: version numbers, reserved aliases, stages, and get-latest-versions by GET too.</summary>
    [Fact]
    public async Task VersionsAliasesAndStagesAreCheckedAsMlflowDoes()
    {
        using var artifacts = new ArtifactClient(_app);
        var (_, run) = await artifacts.CreateRunAsync(await artifacts.CreateExperimentAsync("checks-" + Guid.NewGuid().ToString("N")));
        const string name = "checked";
        await OkAsync(HttpMethod.Post, "registered-models/create", new { name });
        for (var i = 0; i < 2; i++) await OkAsync(HttpMethod.Post, "model-versions/create", new { name, source = $"runs:/{run}/model" });

        var (status, body) = await SendAsync(HttpMethod.Get, $"model-versions/get?name={name}&version=x");
        Assert.Equal(400, status);
        Assert.Equal("Parameter 'version' must be an integer, got 'x'.", (string)body!["message"]!);
        foreach (var (alias, message) in new[] { ("latest", "'latest' alias name (case insensitive) is reserved."), ("v2", "Version alias name 'v2' is reserved.") })
        {
            (status, body) = await SendAsync(HttpMethod.Post, "registered-models/alias", new { name, alias, version = "1" });
            Assert.Equal((400, message), (status, (string)body!["message"]!));
        }
        // "latest" is the newest version, resolved by the server.
        Assert.Equal("2", (string)(await OkAsync(HttpMethod.Get, $"registered-models/alias?name={name}&alias=latest"))["model_version"]!["version"]!);
        (status, body) = await SendAsync(HttpMethod.Get, $"registered-models/alias?name={name}&alias=nobody");
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), (status, (string)body!["error_code"]!));

        (status, body) = await SendAsync(HttpMethod.Post, "model-versions/transition-stage", new { name, version = "1", stage = "Archived", archive_existing_versions = true });
        Assert.Equal(400, status); // MLflow answers 500 here, which the client would retry
        await OkAsync(HttpMethod.Post, "model-versions/transition-stage", new { name, version = "1", stage = "STAGING", archive_existing_versions = false });
        // The client's fallback: get-latest-versions by GET, stages repeated in the query.
        var latest = await OkAsync(HttpMethod.Get, $"registered-models/get-latest-versions?name={name}&stages=staging&stages=None");
        Assert.Equal([("1", "Staging"), ("2", "None")], latest["model_versions"]!.AsArray().Select(v => ((string)v!["version"]!, (string)v["current_stage"]!)));
        Assert.Equal(400, (await SendAsync(HttpMethod.Get, $"registered-models/get-latest-versions?name={name}&stages=Live")).Status);
        Assert.Equal(400, (await SendAsync(HttpMethod.Get, "registered-models/search?max_results=1001")).Status);
    }
}
