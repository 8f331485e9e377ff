using System.Text;
using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Runs at and beyond MLflow's own limits: a run's params and tags outgrow one Table entity (1 MiB) and are stored in
/// extra rows, while a small run stays one row read with one request.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LargeRunTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private const string StorageRequests = "X-Tracker-Storage-Requests";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    /// <summary>A value of exactly <paramref name="length"/> UTF-16 units mixing ASCII, Latin and CJK, unique per seed.</summary>
    private static string Value(int seed, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 äöüßéèñ中文字符テスト\"/<>&";
        var random = new Random(seed);
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
        return new string(chars);
    }

    private async Task<string> CreateRunAsync(string experimentId)
    {
        var (status, body) = await _app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1 });
        Assert.Equal(200, status);
        return (string)body!["run"]!["info"]!["run_id"]!;
    }

    private async Task<string> CreateExperimentAsync(string name)
    {
        var (status, body) = await _app.PostAsync(Api + "experiments/create", new { name });
        Assert.Equal(200, status);
        return (string)body!["experiment_id"]!;
    }

    private static Dictionary<string, string> AsMap(JsonNode? items) =>
        (items?.AsArray() ?? []).ToDictionary(i => (string)i!["key"]!, i => (string)i!["value"]!);

    private static void AssertData(JsonNode data, Dictionary<string, string> @params, Dictionary<string, string> tags)
    {
        Assert.Equal(@params, AsMap(data["params"]));
        var stored = AsMap(data["tags"]);
        foreach (var (key, value) in tags) Assert.Equal(value, stored[key]);
    }

    private async Task<JsonNode> SearchOneAsync(string experimentId, string filter, string? viewType = null)
    {
        var (status, body) = await _app.PostAsync(Api + "runs/search", viewType is null
            ? new { experiment_ids = new[] { experimentId }, filter, run_view_type = "ACTIVE_ONLY" }
            : new { experiment_ids = new[] { experimentId }, filter, run_view_type = viewType });
        Assert.Equal(200, status);
        return Assert.Single(body!["runs"]!.AsArray())!;
    }

    /// <summary>
    /// Logs params and tags in as few log-batch requests as MLflow's 1,000,000-byte request limit
    /// (MAX_BATCH_LOG_REQUEST_SIZE, which Tracker enforces) allows: 100 params of 6,000 characters and 100 tags of
    /// 8,000 are more than one request may carry, so a run at MLflow's value limits grows over a few requests.
    /// </summary>
    private async Task<int> LogInBatchesAsync(string runId, IReadOnlyDictionary<string, string> @params, IReadOnlyDictionary<string, string> tags)
    {
        var items = @params.Select(p => (IsParam: true, p.Key, p.Value)).Concat(tags.Select(t => (IsParam: false, t.Key, t.Value)));
        var batch = new List<(bool IsParam, string Key, string Value)>();
        var (size, requests) = (0L, 0);
        foreach (var item in items)
        {
            var itemSize = System.Text.Json.JsonSerializer.Serialize(new { key = item.Key, value = item.Value }).Length + 1;
            if (batch.Count > 0 && size + itemSize > 900_000) await SendAsync();
            batch.Add(item);
            size += itemSize;
        }
        if (batch.Count > 0) await SendAsync();
        return requests;

        async Task SendAsync()
        {
            var (status, error) = await _app.PostAsync(Api + "runs/log-batch", new
            {
                run_id = runId,
                @params = batch.Where(i => i.IsParam).Select(i => new { key = i.Key, value = i.Value }),
                tags = batch.Where(i => !i.IsParam).Select(i => new { key = i.Key, value = i.Value }),
            });
            Assert.True(status == 200, error?.ToJsonString());
            (batch, size, requests) = ([], 0, requests + 1);
        }
    }

    [Fact]
    public async Task ARunAtMlflowsValueLimitsIsStoredAndReadBackExactly()
    {
        var experimentId = await CreateExperimentAsync("largest-batch");
        var runId = await CreateRunAsync(experimentId);
        await CreateRunAsync(experimentId); // a small neighbour the search must tell apart
        var @params = Enumerable.Range(0, 100).ToDictionary(i => $"param-{i:D3}", i => Value(i, 6000));
        var tags = Enumerable.Range(0, 100).ToDictionary(i => $"tag-{i:D3}", i => Value(1000 + i, 8000));

        Assert.True(await LogInBatchesAsync(runId, @params, tags) > 1);

        var (_, got) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        AssertData(got!["run"]!["data"]!, @params, tags);

        var filter = $"params.`param-042` = '{@params["param-042"]}'";
        var found = await SearchOneAsync(experimentId, filter);
        Assert.Equal(runId, (string)found["info"]!["run_id"]!);
        AssertData(found["data"]!, @params, tags);

        // Later small writes keep everything, and the experiment cascade reaches the large run too.
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = "loss", value = 0.5, timestamp = 1, step = 1 })).Status);
        Assert.Equal(200, (await _app.PostAsync(Api + "experiments/delete", new { experiment_id = experimentId })).Status);
        var deleted = await SearchOneAsync(experimentId, "params.`param-000` LIKE '%'", "DELETED_ONLY");
        Assert.Equal("deleted", (string)deleted["info"]!["lifecycle_stage"]!);
        Assert.Equal(200, (await _app.PostAsync(Api + "experiments/restore", new { experiment_id = experimentId })).Status);
        (_, got) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        Assert.Equal("active", (string)got!["run"]!["info"]!["lifecycle_stage"]!);
        AssertData(got["run"]!["data"]!, @params, tags);
        Assert.Equal(0.5, (double)got["run"]!["data"]!["metrics"]![0]!["value"]!);
    }

    [Fact]
    public async Task ARunGrownOverManyBatchesToSeveralMegabytesKeepsEverything()
    {
        var experimentId = await CreateExperimentAsync("grown-run");
        var runId = await CreateRunAsync(experimentId);
        var @params = new Dictionary<string, string>();
        var tags = new Dictionary<string, string>();
        for (var batch = 0; batch < 10; batch++)
        {
            var newParams = Enumerable.Range(batch * 100, 100).ToDictionary(i => $"p{i:D4}", i => $"{i}:" + new string('p', 5990));
            var newTags = Enumerable.Range(batch * 100, 100).ToDictionary(i => $"t{i:D4}", i => $"{i}:{batch}:" + new string('t', 7980));
            await LogInBatchesAsync(runId, newParams, newTags);
            Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = "step", value = (double)batch, timestamp = 1, step = batch })).Status);
            foreach (var (k, v) in newParams) @params[k] = v;
            foreach (var (k, v) in newTags) tags[k] = v;
        }
        // Tags stay mutable and deletable on a large run.
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/set-tag", new { run_id = runId, key = "t0000", value = "overwritten" })).Status);
        tags["t0000"] = "overwritten";
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/delete-tag", new { run_id = runId, key = "t0001" })).Status);
        tags.Remove("t0001");

        var (_, got) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        var data = got!["run"]!["data"]!;
        AssertData(data, @params, tags);
        Assert.DoesNotContain("t0001", AsMap(data["tags"]).Keys);
        Assert.Equal(1000, data["params"]!.AsArray().Count);

        var found = await SearchOneAsync(experimentId, "params.p0999 LIKE '999:%' and tags.t0000 = 'overwritten'");
        AssertData(found["data"]!, @params, tags);

        // Superseded generations are removed: what is left of the run is the run row and one generation's rows.
        var table = new Azure.Data.Tables.TableClient(azurite.ConnectionString, _app.TablePrefix + "runs");
        var rows = table.Query<Azure.Data.Tables.TableEntity>(r => r.PartitionKey == experimentId, select: ["RowKey"]).Select(r => r.RowKey).ToList();
        var spillRows = rows.Where(r => r.StartsWith("s:", StringComparison.Ordinal)).ToList();
        Assert.InRange(spillRows.Count, 15, 40);
        Assert.Single(spillRows.Select(r => r.Split(':')[2]).Distinct());
    }

    [Fact]
    public async Task ASmallRunIsStillOneRowReadWithOneRequest()
    {
        var experimentId = await CreateExperimentAsync("small-run");
        var runId = await CreateRunAsync(experimentId);
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-batch", new
        {
            run_id = runId,
            @params = Enumerable.Range(0, 100).Select(i => new { key = $"p{i}", value = new string('v', 1000) }),
        })).Status);

        using var client = _app.CreateClient();
        using var response = await client.GetAsync($"{Api}runs/get?run_id={runId}");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues(StorageRequests).Single());
        var table = new Azure.Data.Tables.TableClient(azurite.ConnectionString, _app.TablePrefix + "runs");
        Assert.Single(RunAndSpillRows(table, experimentId));
    }

    [Fact]
    public async Task NonAsciiValuesAreStoredAsUtf8NotAsEscapes()
    {
        // 40 tags of 8,000 'ü': 640 KB as UTF-8, which fits the run row; as \u00fc escapes it would take 1.9 MB.
        var experimentId = await CreateExperimentAsync("non-ascii");
        var runId = await CreateRunAsync(experimentId);
        var tags = Enumerable.Range(0, 40).ToDictionary(i => $"t{i}", i => new string('ü', 7998) + i.ToString("D2"));
        await LogInBatchesAsync(runId, new Dictionary<string, string>(), tags);

        var (_, got) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        AssertData(got!["run"]!["data"]!, [], tags);
        var table = new Azure.Data.Tables.TableClient(azurite.ConnectionString, _app.TablePrefix + "runs");
        Assert.Single(RunAndSpillRows(table, experimentId));
    }

    [Fact]
    public async Task DeletingAndRestoringAnExperimentOfRunsNearTheRowLimitMarksEveryRun()
    {
        // Six runs of 650 KB each fit their rows; marking them in one transaction would send 5 MB, over Azure's 4 MiB.
        var experimentId = await CreateExperimentAsync("large-cascade");
        var runIds = new List<string>();
        for (var r = 0; r < 6; r++)
        {
            var runId = await CreateRunAsync(experimentId);
            await LogInBatchesAsync(runId, new Dictionary<string, string>(), Enumerable.Range(0, 81).ToDictionary(i => $"t{i}", i => new string('x', 8000)));
            runIds.Add(runId);
        }

        foreach (var (route, lifecycle) in new[] { ("experiments/delete", "deleted"), ("experiments/restore", "active") })
        {
            Assert.Equal(200, (await _app.PostAsync(Api + route, new { experiment_id = experimentId })).Status);
            foreach (var runId in runIds)
            {
                var (_, got) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
                Assert.Equal(lifecycle, (string)got!["run"]!["info"]!["lifecycle_stage"]!);
            }
        }
    }

    /// <summary>The experiment's run and spill rows (its change feed rows left out).</summary>
    private static List<string> RunAndSpillRows(Azure.Data.Tables.TableClient table, string experimentId) =>
        table.Query<Azure.Data.Tables.TableEntity>(r => r.PartitionKey == experimentId, select: ["RowKey"])
            .Select(r => r.RowKey).Where(k => !k.StartsWith(Tracker.Core.Storage.ChangeFeed.RowPrefix, StringComparison.Ordinal)).ToList();
}
