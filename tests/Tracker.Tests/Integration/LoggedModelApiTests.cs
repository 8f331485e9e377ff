using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// MLflow 3 logged models over HTTP against a real Tracker on Azurite (spec §2.4 #27–35, §7): the call sequence a 3.x
/// client's <c>mlflow.&lt;flavor&gt;.log_model(..., name=...)</c> sends, then each route with its errors, search,
/// model metrics and the artifacts under <c>&lt;exp&gt;/models/&lt;model_id&gt;/artifacts</c>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LoggedModelApiTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Artifacts = "/api/2.0/mlflow-artifacts/artifacts/";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    private async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await TrackerApp.ReadAsync(response));
    }

    private async Task<JsonNode> OkAsync(HttpMethod method, string path, object? body = null)
    {
        var (status, answer) = await SendAsync(method, path, body);
        Assert.True(status == 200, $"{method} {path}: {status} {answer?.ToJsonString()}");
        return answer ?? new JsonObject();
    }

    private static void AssertError((int Status, JsonNode? Body) response, int status, string code, string? message = null)
    {
        Assert.True(response.Status == status, $"expected {status}, got {response.Status}: {response.Body?.ToJsonString()}");
        Assert.Equal(code, (string?)response.Body?["error_code"]);
        if (message is not null) Assert.Equal(message, (string?)response.Body?["message"]);
    }

    private async Task<string> ExperimentAsync() =>
        (string)(await OkAsync(HttpMethod.Post, Api + "experiments/create", new { name = "lm-" + Guid.NewGuid().ToString("N") }))["experiment_id"]!;

    private async Task<string> RunAsync(string experimentId) =>
        (string)(await OkAsync(HttpMethod.Post, Api + "runs/create", new { experiment_id = experimentId, start_time = 1 }))["run"]!["info"]!["run_id"]!;

    private async Task<JsonNode> CreateModelAsync(string experimentId, object? extra = null)
    {
        var body = JsonSerializer.SerializeToNode(extra ?? new { })!.AsObject();
        body["experiment_id"] = experimentId;
        return (await OkAsync(HttpMethod.Post, Api + "logged-models", body))["model"]!;
    }

    private async Task<JsonNode> GetModelAsync(string modelId) => (await OkAsync(HttpMethod.Get, Api + $"logged-models/{modelId}"))["model"]!;

    private async Task PutFileAsync(string path, byte[] content)
    {
        using var client = _app.CreateClient();
        using var body = new ByteArrayContent(content) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
        using var response = await client.PutAsync(Artifacts + path, body);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<(int Status, byte[] Content)> GetFileAsync(string path)
    {
        using var client = _app.CreateClient();
        using var response = await client.GetAsync(Artifacts + path);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>
    /// The 3.x <c>mlflow.sklearn.log_model(model, name="model", registered_model_name=...)</c> sequence inside an active
    /// run (spec §7, from mlflow/models/model.py Model.log and mlflow/tracking/fluent.py), up to the model READY with its
    /// files downloadable, then registered (<c>registered_model_name</c>: registered-models/create, model-versions/create
    /// with source <c>models:/m-…</c> and <c>model_id</c>, the READY poll) and loaded back as
    /// <c>models:/name@champion</c> would be: the alias, then the version's download URI, then the files.
    /// </summary>
    [Fact]
    public async Task A3xLogModelSequenceEndsWithAReadyRegisteredModelWhoseFilesDownload()
    {
        // mlflow.set_experiment + start_run + log_params + log_metric, as the script does before log_model.
        var experimentId = await ExperimentAsync();
        var runId = (string)(await OkAsync(HttpMethod.Post, Api + "runs/create", new
        {
            experiment_id = experimentId, user_id = "ds", start_time = 1_700_000_000_000,
            tags = new[] { new { key = "mlflow.user", value = "ds" }, new { key = "mlflow.source.name", value = "train.py" } },
        }))["run"]!["info"]!["run_id"]!;
        await OkAsync(HttpMethod.Post, Api + "runs/log-batch", new
        {
            run_id = runId, metrics = Array.Empty<object>(), tags = Array.Empty<object>(),
            @params = new[] { new { key = "alpha", value = "0.5" }, new { key = "max_depth", value = "3" } },
        });
        await OkAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = runId, key = "rmse", value = 0.25, timestamp = 1_700_000_000_100, step = 0 });

        // 1. runs/get: the client copies the run's params onto the model.
        var run = (await OkAsync(HttpMethod.Get, Api + $"runs/get?run_id={runId}"))["run"]!;
        var runParams = run["data"]!["params"]!.AsArray().Select(p => new { key = (string)p!["key"]!, value = (string)p!["value"]! }).ToArray();
        Assert.Equal(2, runParams.Length);

        // 2. logged-models create: params (first 100) and the resolved context tags.
        var created = await CreateModelAsync(experimentId, new
        {
            name = "model", source_run_id = runId, model_type = (string?)null, @params = runParams,
            tags = new[] { new { key = "mlflow.user", value = "ds" }, new { key = "mlflow.source.name", value = "train.py" }, new { key = "mlflow.source.type", value = "LOCAL" } },
        });
        var modelId = (string)created["info"]!["model_id"]!;
        Assert.Matches("^m-[0-9a-f]{32}$", modelId);
        Assert.Equal(LoggedModelStatus.Pending, (string?)created["info"]!["status"]);
        Assert.Equal($"mlflow-artifacts:/{experimentId}/models/{modelId}/artifacts", (string?)created["info"]!["artifact_uri"]);
        Assert.Equal(runId, (string?)created["info"]!["source_run_id"]);
        Assert.Equal("model", (string?)created["info"]!["name"]);
        Assert.Equal(experimentId, (string?)created["info"]!["experiment_id"]);

        // 3. runs/outputs links the model to the run at step 0.
        await OkAsync(HttpMethod.Post, Api + "runs/outputs", new { run_id = runId, models = new[] { new { model_id = modelId, step = 0 } } });

        // 4. runs/get, get-history per metric key, then log-batch of that step's metrics carrying model_id.
        run = (await OkAsync(HttpMethod.Get, Api + $"runs/get?run_id={runId}"))["run"]!;
        Assert.Equal(modelId, (string?)run["outputs"]!["model_outputs"]![0]!["model_id"]);
        var history = (await OkAsync(HttpMethod.Get, Api + $"metrics/get-history?run_id={runId}&metric_key=rmse&max_results=25000"))["metrics"]!.AsArray();
        var point = Assert.Single(history)!;
        await OkAsync(HttpMethod.Post, Api + "runs/log-batch", new
        {
            run_id = runId, @params = Array.Empty<object>(), tags = Array.Empty<object>(),
            metrics = new[] { new { key = "rmse", value = (double)point["value"]!, timestamp = (long)point["timestamp"]!, step = (long)point["step"]!, model_id = modelId, run_id = runId } },
        });

        // 5. logged-models get (for artifact_uri), then one PUT per model file under .../models/<id>/artifacts/.
        var artifactUri = (string)(await GetModelAsync(modelId))["info"]!["artifact_uri"]!;
        var root = artifactUri["mlflow-artifacts:/".Length..];
        var files = new Dictionary<string, byte[]>
        {
            ["MLmodel"] = Encoding.UTF8.GetBytes($"artifact_path: model\nmodel_id: {modelId}\nflavors: {{}}\n"),
            ["conda.yaml"] = "name: mlflow-env\n"u8.ToArray(),
            ["python_env.yaml"] = "python: 3.11\n"u8.ToArray(),
            ["requirements.txt"] = "mlflow==3.6.0\nscikit-learn\n"u8.ToArray(),
            ["model.pkl"] = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray(),
        };
        foreach (var (name, content) in files) await PutFileAsync($"{root}/{name}", content);

        // 6. finalize.
        var finalized = (await OkAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}", new { model_id = modelId, status = LoggedModelStatus.Ready }))["model"]!;
        Assert.Equal(LoggedModelStatus.Ready, (string?)finalized["info"]!["status"]);

        // The model as a later models:/m-… load sees it: READY, with the run's params, its tags and the metric.
        var model = await GetModelAsync(modelId);
        Assert.Equal(LoggedModelStatus.Ready, (string?)model["info"]!["status"]);
        Assert.Equal(["alpha=0.5", "max_depth=3"], model["data"]!["params"]!.AsArray().Select(p => $"{p!["key"]}={p["value"]}").Order());
        Assert.Contains(model["info"]!["tags"]!.AsArray(), t => (string?)t!["key"] == "mlflow.source.type");
        var metric = Assert.Single(model["data"]!["metrics"]!.AsArray())!;
        Assert.Equal(("rmse", 0.25, 0L, modelId, runId), ((string?)metric["key"], (double)metric["value"]!, (long)metric["step"]!, (string?)metric["model_id"], (string?)metric["run_id"]));
        Assert.True((long)model["info"]!["last_updated_timestamp_ms"]! >= (long)model["info"]!["creation_timestamp_ms"]!);

        // Download as the client does: list the root, then GET each file.
        var listing = await OkAsync(HttpMethod.Get, $"{Artifacts.TrimEnd('/')}?path={root}");
        Assert.Equal(files.Keys.Order(), listing["files"]!.AsArray().Select(f => (string)f!["path"]!).Order());
        foreach (var (name, content) in files)
        {
            var (status, bytes) = await GetFileAsync($"{root}/{name}");
            Assert.Equal(200, status);
            Assert.Equal(content, bytes);
        }

        // 7. registered_model_name: create the model (RESOURCE_ALREADY_EXISTS is what a second log_model meets and
        // tolerates), then the version from the logged model, polled until READY.
        var registered = "lm-registered-" + Guid.NewGuid().ToString("N");
        await OkAsync(HttpMethod.Post, Api + "registered-models/create", new { name = registered });
        AssertError(await SendAsync(HttpMethod.Post, Api + "registered-models/create", new { name = registered }), 400, "RESOURCE_ALREADY_EXISTS");
        var version = (await OkAsync(HttpMethod.Post, Api + "model-versions/create", new { name = registered, source = $"models:/{modelId}", model_id = modelId }))["model_version"]!;
        Assert.Equal(("1", "READY", runId, modelId), ((string?)version["version"], (string?)version["status"], (string?)version["run_id"], (string?)version["model_id"]));
        var polled = (await OkAsync(HttpMethod.Get, Api + $"model-versions/get?name={registered}&version=1"))["model_version"]!;
        Assert.Equal("READY", (string?)polled["status"]);
        // MLflow records the registration on the logged model's mlflow.modelVersions tag.
        var recorded = (string?)(await GetModelAsync(modelId))["info"]!["tags"]!.AsArray().Single(t => (string?)t!["key"] == "mlflow.modelVersions")!["value"];
        var entry = Assert.Single(JsonNode.Parse(recorded!)!.AsArray())!;
        Assert.Equal((registered, "1"), ((string?)entry["name"], entry["version"]!.ToString()));

        // models:/<name>@champion: the alias, then the download URI (the logged model's files), then list + GET.
        await OkAsync(HttpMethod.Post, Api + "registered-models/alias", new { name = registered, alias = "champion", version = "1" });
        var byAlias = (await OkAsync(HttpMethod.Get, Api + $"registered-models/alias?name={registered}&alias=champion"))["model_version"]!;
        Assert.Equal("1", (string?)byAlias["version"]);
        var downloadUri = (string)(await OkAsync(HttpMethod.Get, Api + $"model-versions/get-download-uri?name={registered}&version=1"))["artifact_uri"]!;
        Assert.Equal(artifactUri, downloadUri);
        var (pklStatus, pkl) = await GetFileAsync($"{downloadUri["mlflow-artifacts:/".Length..]}/model.pkl");
        Assert.Equal(200, pklStatus);
        Assert.Equal(files["model.pkl"], pkl);
    }

    [Fact]
    public async Task RegisteringFromAMissingLoggedModelStoresNoVersion()
    {
        var experimentId = await ExperimentAsync();
        var never = LoggedModelIds.New(experimentId);
        var registered = "lm-missing-" + Guid.NewGuid().ToString("N");
        await OkAsync(HttpMethod.Post, Api + "registered-models/create", new { name = registered });
        AssertError(await SendAsync(HttpMethod.Post, Api + "model-versions/create", new { name = registered, source = $"models:/{never}", model_id = never }),
            404, "RESOURCE_DOES_NOT_EXIST", $"Logged model with ID '{never}' not found.");
        AssertError(await SendAsync(HttpMethod.Get, Api + $"model-versions/get?name={registered}&version=1"), 404, "RESOURCE_DOES_NOT_EXIST");
        // Tracker's own URI of a logged model's files names that model too: it must exist.
        AssertError(await SendAsync(HttpMethod.Post, Api + "model-versions/create",
            new { name = registered, source = $"mlflow-artifacts:/{experimentId}/models/{never}/artifacts" }), 404, "RESOURCE_DOES_NOT_EXIST");
        var existing = (string)(await CreateModelAsync(experimentId, new { name = "m" }))["info"]!["model_id"]!;
        var version = (await OkAsync(HttpMethod.Post, Api + "model-versions/create",
            new { name = registered, source = $"mlflow-artifacts:/{experimentId}/models/{existing}/artifacts" }))["model_version"]!;
        Assert.Equal("1", (string?)version["version"]);
    }

    [Fact]
    public async Task CreateValidatesTheNameAndTheExperiment()
    {
        var experimentId = await ExperimentAsync();
        foreach (var bad in new[] { "", "a/b", "a:b", "a.b", "50%", "a\"b", "a'b" })
            AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models", new { experiment_id = experimentId, name = bad }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models", new { name = "x" }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models", new { experiment_id = "987654" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=987654 exists");

        // No name: a random one, as MLflow generates.
        var unnamed = await CreateModelAsync(experimentId);
        Assert.False(string.IsNullOrEmpty((string?)unnamed["info"]!["name"]));

        await OkAsync(HttpMethod.Post, Api + "experiments/delete", new { experiment_id = experimentId });
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models", new { experiment_id = experimentId, name = "x" }), 400, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task AMissingOrDeletedModelIsNotFoundWithMlflowsMessage()
    {
        var experimentId = await ExperimentAsync();
        var never = LoggedModelIds.New(experimentId);
        AssertError(await SendAsync(HttpMethod.Get, Api + $"logged-models/{never}"), 404, "RESOURCE_DOES_NOT_EXIST", $"Logged model with ID '{never}' not found.");
        AssertError(await SendAsync(HttpMethod.Get, Api + "logged-models/m-nonsense"), 404, "RESOURCE_DOES_NOT_EXIST", "Logged model with ID 'm-nonsense' not found.");
        AssertError(await SendAsync(HttpMethod.Patch, Api + $"logged-models/{never}", new { status = LoggedModelStatus.Ready }), 404, "RESOURCE_DOES_NOT_EXIST");

        var modelId = (string)(await CreateModelAsync(experimentId, new { name = "gone" }))["info"]!["model_id"]!;
        // The 3.x client's delete_logged_model sends a JSON body with the DELETE (rest_store.py).
        await OkAsync(HttpMethod.Delete, Api + $"logged-models/{modelId}", new { model_id = modelId });
        AssertError(await SendAsync(HttpMethod.Get, Api + $"logged-models/{modelId}"), 404, "RESOURCE_DOES_NOT_EXIST", $"Logged model with ID '{modelId}' not found.");
        AssertError(await SendAsync(HttpMethod.Delete, Api + $"logged-models/{modelId}"), 404, "RESOURCE_DOES_NOT_EXIST");
        AssertError(await SendAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}/tags", new { tags = new[] { new { key = "k", value = "v" } } }), 404, "RESOURCE_DOES_NOT_EXIST");
        var search = await OkAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId } });
        Assert.Null(search["models"]);
    }

    [Fact]
    public async Task FinalizeSetsTheStatusByNameAndRefusesOthers()
    {
        var experimentId = await ExperimentAsync();
        var modelId = (string)(await CreateModelAsync(experimentId))["info"]!["model_id"]!;
        AssertError(await SendAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}", new { model_id = modelId }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}", new { model_id = modelId, status = "DONE" }), 400, "INVALID_PARAMETER_VALUE");
        var failed = (await OkAsync(HttpMethod.Patch, "/ajax-api/2.0/mlflow/" + $"logged-models/{modelId}", new { model_id = modelId, status = LoggedModelStatus.UploadFailed }))["model"]!;
        Assert.Equal(LoggedModelStatus.UploadFailed, (string?)failed["info"]!["status"]);
        Assert.Equal(LoggedModelStatus.UploadFailed, (string?)(await GetModelAsync(modelId))["info"]!["status"]);
    }

    [Fact]
    public async Task TagsAreUpsertedAndDeletedAndAMissingTagIsNotFound()
    {
        var experimentId = await ExperimentAsync();
        var modelId = (string)(await CreateModelAsync(experimentId, new { tags = new[] { new { key = "mlflow.model.isExternal", value = "true" } } }))["info"]!["model_id"]!;
        var answer = await OkAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}/tags", new { tags = new[] { new { key = "a", value = "1" }, new { key = "b", value = "2" } } });
        Assert.Equal("{}", answer.ToJsonString());
        await OkAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}/tags", new { tags = new[] { new { key = "a", value = "3" } } });
        await OkAsync(HttpMethod.Delete, Api + $"logged-models/{modelId}/tags/mlflow.model.isExternal");
        var tags = (await GetModelAsync(modelId))["info"]!["tags"]!.AsArray().Select(t => $"{t!["key"]}={t["value"]}").Order();
        Assert.Equal(["a=3", "b=2"], tags);
        AssertError(await SendAsync(HttpMethod.Delete, Api + $"logged-models/{modelId}/tags/nope"), 404, "RESOURCE_DOES_NOT_EXIST");
        AssertError(await SendAsync(HttpMethod.Patch, Api + $"logged-models/{modelId}/tags", new { tags = new[] { new { key = "../bad", value = "x" } } }), 400, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task ParamsArriveInBatchesAndAreNeverChanged()
    {
        var experimentId = await ExperimentAsync();
        var first = Enumerable.Range(0, 100).Select(i => new { key = $"p{i:D3}", value = $"{i}" }).ToArray();
        var rest = Enumerable.Range(100, 30).Select(i => new { key = $"p{i:D3}", value = $"{i}" }).ToArray();
        var modelId = (string)(await CreateModelAsync(experimentId, new { @params = first }))["info"]!["model_id"]!;
        await OkAsync(HttpMethod.Post, Api + $"logged-models/{modelId}/params", new { model_id = modelId, @params = rest });
        await OkAsync(HttpMethod.Post, Api + $"logged-models/{modelId}/params", new { model_id = modelId, @params = rest }); // a retry
        Assert.Equal(130, (await GetModelAsync(modelId))["data"]!["params"]!.AsArray().Count);
        AssertError(await SendAsync(HttpMethod.Post, Api + $"logged-models/{modelId}/params", new { model_id = modelId, @params = new[] { new { key = "p000", value = "changed" } } }),
            400, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task MetricsWithAModelIdAreTheModelsMetricsOnceEachEvenWhenRetried()
    {
        var experimentId = await ExperimentAsync();
        var runId = await RunAsync(experimentId);
        var modelId = (string)(await CreateModelAsync(experimentId, new { source_run_id = runId }))["info"]!["model_id"]!;
        var batch = new
        {
            run_id = runId,
            metrics = new object[]
            {
                new { key = "acc", value = 0.9, timestamp = 10, step = 1, model_id = modelId, dataset_name = "eval", dataset_digest = "d1" },
                new { key = "loss", value = 0.1, timestamp = 10, step = 1, model_id = modelId },
                new { key = "plain", value = 1.0, timestamp = 10, step = 1 },
            },
        };
        await OkAsync(HttpMethod.Post, Api + "runs/log-batch", batch);
        await OkAsync(HttpMethod.Post, Api + "runs/log-batch", batch); // a retry after a lost answer
        await OkAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = runId, key = "acc", value = 0.95, timestamp = 20, step = 2, model_id = modelId, dataset_name = "eval", dataset_digest = "d1" });

        var metrics = (await GetModelAsync(modelId))["data"]!["metrics"]!.AsArray();
        Assert.Equal(["acc@1=0.9 eval/d1", "acc@2=0.95 eval/d1", "loss@1=0.1 /"],
            metrics.Select(m => $"{m!["key"]}@{m["step"]}={m["value"]} {m["dataset_name"]}/{m["dataset_digest"]}").Order());
        Assert.All(metrics, m => Assert.Equal(runId, (string?)m!["run_id"]));
        // The run has all three as its own metrics too.
        var runMetrics = (await OkAsync(HttpMethod.Get, Api + $"runs/get?run_id={runId}"))["run"]!["data"]!["metrics"]!.AsArray();
        Assert.Equal(["acc", "loss", "plain"], runMetrics.Select(m => (string)m!["key"]!).Order());

        // A model Tracker never issued, or one of another experiment, is refused before anything is written.
        var otherModel = (string)(await CreateModelAsync(await ExperimentAsync()))["info"]!["model_id"]!;
        AssertError(await SendAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = runId, key = "x", value = 1, timestamp = 1, model_id = otherModel }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = runId, key = "x", value = 1, timestamp = 1, model_id = "m-nope" }), 404, "RESOURCE_DOES_NOT_EXIST");
        var after = (await OkAsync(HttpMethod.Get, Api + $"runs/get?run_id={runId}"))["run"]!["data"]!["metrics"]!.AsArray();
        Assert.DoesNotContain(after, m => (string?)m!["key"] == "x");
        // One that does not exist (but could) is the model's 404.
        AssertError(await SendAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = runId, key = "y", value = 1, timestamp = 1, model_id = LoggedModelIds.New(experimentId) }),
            404, "RESOURCE_DOES_NOT_EXIST");
    }

    [Fact]
    public async Task SearchFiltersOrdersAndPages()
    {
        var experimentId = await ExperimentAsync();
        var other = await ExperimentAsync();
        var runId = await RunAsync(experimentId);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var id = (string)(await CreateModelAsync(i == 4 ? other : experimentId, new
            {
                name = $"model{i}", source_run_id = runId, tags = new[] { new { key = "team", value = i % 2 == 0 ? "even" : "odd" } },
                @params = new[] { new { key = "i", value = $"{i}" } },
            }))["info"]!["model_id"]!;
            ids.Add(id);
            if (i < 4)
                await OkAsync(HttpMethod.Post, Api + "runs/log-metric", new { run_id = runId, key = "acc", value = 0.5 + i / 10.0, timestamp = 1, step = 0, model_id = id });
            await Task.Delay(2); // distinct creation times for the default order
        }
        await OkAsync(HttpMethod.Patch, Api + $"logged-models/{ids[1]}", new { status = LoggedModelStatus.Ready });

        async Task<List<string>> Search(object body)
        {
            var answer = await OkAsync(HttpMethod.Post, Api + "logged-models/search", body);
            return answer["models"]?.AsArray().Select(m => (string)m!["info"]!["name"]!).ToList() ?? [];
        }

        Assert.Equal(["model3", "model2", "model1", "model0"], await Search(new { experiment_ids = new[] { experimentId } }));
        Assert.Equal(["model4", "model3", "model2", "model1", "model0"], await Search(new { experiment_ids = new[] { experimentId, other } }));
        Assert.Equal(["model2"], await Search(new { experiment_ids = new[] { experimentId }, filter = "name = 'model2'" }));
        Assert.Equal(["model3", "model1"], await Search(new { experiment_ids = new[] { experimentId }, filter = "tags.team = 'odd'" }));
        Assert.Equal(["model1"], await Search(new { experiment_ids = new[] { experimentId }, filter = $"status = '{LoggedModelStatus.Ready}'" }));
        Assert.Equal(["model3", "model2"], await Search(new { experiment_ids = new[] { experimentId }, filter = "metrics.acc > 0.65" }));
        Assert.Equal(["model0"], await Search(new { experiment_ids = new[] { experimentId }, filter = "params.i = '0'" }));
        Assert.Equal(["model0", "model1", "model2", "model3"],
            await Search(new { experiment_ids = new[] { experimentId }, order_by = new[] { new { field_name = "metrics.acc", ascending = true } } }));
        Assert.Equal(["model0", "model1", "model2", "model3"],
            await Search(new { experiment_ids = new[] { experimentId }, order_by = new[] { new { field_name = "name" } } }));
        // runs:/<run>/<name> resolution in a 3.x client searches by name in the run's experiment.
        Assert.Equal(["model1"], await Search(new { experiment_ids = new[] { experimentId }, filter = "name = 'model1'" }));

        // Paging: the token continues the same query only.
        var pages = new List<string>();
        string? token = null;
        do
        {
            var answer = await OkAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId }, max_results = 3, page_token = token });
            pages.AddRange(answer["models"]!.AsArray().Select(m => (string)m!["info"]!["name"]!));
            token = (string?)answer["next_page_token"];
            if (token is not null)
                AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId }, filter = "name = 'model1'", page_token = token }),
                    400, "INVALID_PARAMETER_VALUE");
        } while (token is not null);
        Assert.Equal(["model3", "model2", "model1", "model0"], pages);

        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId }, filter = "bogus = 1" }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId }, order_by = new[] { new { field_name = "bogus" } } }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId }, max_results = 0 }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models/search", new { experiment_ids = new[] { experimentId }, page_token = "garbage" }), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Post, Api + "logged-models/search", new { }), 400, "INVALID_PARAMETER_VALUE");
    }

    [Fact]
    public async Task ArtifactsUnderAModelFollowTheProxysRules()
    {
        var experimentId = await ExperimentAsync();
        var modelId = (string)(await CreateModelAsync(experimentId))["info"]!["model_id"]!;
        var root = $"{experimentId}/models/{modelId}/artifacts";
        await PutFileAsync($"{root}/MLmodel", "flavors: {}\n"u8.ToArray());
        await PutFileAsync($"{root}/data/model.pkl", [1, 2, 3]);

        var listing = await OkAsync(HttpMethod.Get, $"{Artifacts.TrimEnd('/')}?path={root}");
        Assert.Equal(["MLmodel:false", "data:true"], listing["files"]!.AsArray().Select(f => $"{f!["path"]}:{f["is_dir"]}").Order());
        Assert.Equal("{}", (await OkAsync(HttpMethod.Get, $"{Artifacts.TrimEnd('/')}?path={root}/MLmodel")).ToJsonString());

        // The UI's listing (#34): paths relative to the model's root, plus that root.
        var directories = await OkAsync(HttpMethod.Get, Api + $"logged-models/{modelId}/artifacts/directories?artifact_directory_path=data");
        Assert.Equal($"mlflow-artifacts:/{root}", (string?)directories["root_uri"]);
        Assert.Equal("data/model.pkl", (string?)Assert.Single(directories["files"]!.AsArray())!["path"]);

        // Unsafe paths are refused as under a run; another experiment's prefix does not reach the model.
        AssertError(await SendAsync(HttpMethod.Get, Artifacts + $"{root}/%2e%2e/x"), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Get, Api + $"logged-models/{modelId}/artifacts/directories?artifact_directory_path=../x"), 400, "INVALID_PARAMETER_VALUE");
        AssertError(await SendAsync(HttpMethod.Get, Artifacts + $"{experimentId}0/models/{modelId}/artifacts/MLmodel"), 404, "RESOURCE_DOES_NOT_EXIST");
        // A model id that could exist but does not: nothing to read or write there.
        var never = LoggedModelIds.New(experimentId);
        using (var client = _app.CreateClient())
        using (var put = await client.PutAsync(Artifacts + $"{experimentId}/models/{never}/artifacts/x", new ByteArrayContent([1])))
            Assert.Equal(404, (int)put.StatusCode);

        await OkAsync(HttpMethod.Delete, Artifacts + $"{root}/data");
        Assert.Equal(404, (await GetFileAsync($"{root}/data/model.pkl")).Status);
        Assert.Equal(200, (await GetFileAsync($"{root}/MLmodel")).Status);

        // A deleted model's files are gone with it.
        await OkAsync(HttpMethod.Delete, Api + $"logged-models/{modelId}");
        Assert.Equal(404, (await GetFileAsync($"{root}/MLmodel")).Status);
    }
}
