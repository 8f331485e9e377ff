using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>Behaviour over real Azurite that the recording does not cover: concurrency, long histories, odd keys, safety.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TrackingStoreTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    private async Task<string> CreateRunAsync(string experimentId = "0")
    {
        var (status, body) = await _app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1 });
        Assert.Equal(200, status);
        return (string)body!["run"]!["info"]!["run_id"]!;
    }

    private Task<List<JsonNode>> HistoryAsync(string runId, string key) => HistoryAsync(_app, runId, key);

    private static async Task<List<JsonNode>> HistoryAsync(TrackerApp app, string runId, string key)
    {
        var points = new List<JsonNode>();
        string? token = null;
        do
        {
            var (status, body) = await app.GetAsync(
                $"{Api}metrics/get-history?run_id={runId}&metric_key={Uri.EscapeDataString(key)}&max_results=25000" +
                (token is null ? "" : "&page_token=" + Uri.EscapeDataString(token)));
            Assert.Equal(200, status);
            points.AddRange(body?["metrics"]?.AsArray().Select(m => m!) ?? []);
            token = (string?)body?["next_page_token"];
        } while (token is not null);
        return points;
    }

    /// <summary>
    /// Experiment reads wait for the tables' set-up only where it matters, for Default, which it seeds: any other
    /// experiment reads as not found while the tables are missing (creating none), and a cold instance finds one by id
    /// with one point read, by name with two.
    /// </summary>
    [Fact]
    public async Task OnlyDefaultsReadsWaitForTheTablesSetUp()
    {
        var fresh = new TrackingInstance(azurite);
        Assert.Null(await fresh.Store.GetExperimentAsync("5"));
        Assert.Null(await fresh.Store.GetExperimentByNameAsync("sweep"));
        Assert.Empty(await fresh.Raw.QueryAsync(t => t.Name.CompareTo(fresh.Prefix) >= 0 && t.Name.CompareTo(fresh.Prefix + "~") < 0).ToListAsync());
        Assert.Equal("0", (await fresh.Store.GetExperimentByNameAsync("Default"))!.ExperimentId);
        Assert.Equal("Default", (await new TrackingInstance(azurite, fresh.Prefix).Store.GetExperimentAsync("0"))!.Name);

        var id = await fresh.Store.CreateExperimentAsync("sweep", []);
        var cold = new TrackingInstance(azurite, fresh.Prefix);
        Assert.Equal(1, await TrackingInstance.CountRequestsAsync(async () => Assert.Equal("sweep", (await cold.Store.GetExperimentAsync(id))!.Name)));
        cold = new TrackingInstance(azurite, fresh.Prefix);
        Assert.Equal(2, await TrackingInstance.CountRequestsAsync(async () => Assert.Equal(id, (await cold.Store.GetExperimentByNameAsync("sweep"))!.ExperimentId)));
        // A write after a read still creates what it writes to: a run in the experiment, on an instance that only read.
        var runId = (await cold.Store.CreateRunAsync(id, "u", null, 1, [])).Info.RunId;
        Assert.NotNull(await cold.Store.GetRunAsync(runId));
    }

    [Fact]
    public async Task SixteenConcurrentWritersOnOneRunLoseNothing()
    {
        var runId = await CreateRunAsync();
        var writers = Enumerable.Range(0, 16).Select(w => _app.PostAsync(Api + "runs/log-batch", new
        {
            run_id = runId,
            metrics = Enumerable.Range(0, 50).Select(s => new { key = "common", value = w + s / 100.0, timestamp = 1000 + s, step = w * 50 + s })
                .Concat(Enumerable.Range(0, 20).Select(s => new { key = $"own-{w}", value = (double)s, timestamp = 1000 + s, step = s })),
            @params = new[] { new { key = $"p{w}", value = $"v{w}" } },
            tags = new[] { new { key = $"t{w}", value = $"x{w}" } },
        }));
        Assert.All(await Task.WhenAll(writers), r => Assert.Equal(200, r.Status));

        var (_, run) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        var data = run!["run"]!["data"]!;
        Assert.Equal(16, data["params"]!.AsArray().Count);
        Assert.Equal(Enumerable.Range(0, 16).Select(w => $"t{w}").Order(), data["tags"]!.AsArray().Select(t => (string)t!["key"]!).Where(k => k.StartsWith('t')).Order());
        Assert.Equal(17, data["metrics"]!.AsArray().Count);
        var latestShared = data["metrics"]!.AsArray().Single(m => (string)m!["key"]! == "common")!;
        Assert.Equal(15 * 50 + 49, (long)latestShared["step"]!);

        var shared = await HistoryAsync(runId, "common");
        Assert.Equal(16 * 50, shared.Count);
        Assert.Equal(Enumerable.Range(0, 800).Select(i => (long)i).Order(), shared.Select(p => (long)p["step"]!).Order());
        for (var w = 0; w < 16; w++) Assert.Equal(20, (await HistoryAsync(runId, $"own-{w}")).Count);
    }

    [Fact]
    public async Task LongHistoryIsCompactedReadInOrderAndRetriesDoNotDuplicate()
    {
        // 100 batches of 1000 points, a history row each; with a threshold of 32 rows they are compacted three times,
        // each time into one compacted row (32,000 points pack to about 350 KB).
        using var app = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["Tracker:Storage:HistoryRowsPerCompaction"] = "32" });
        var (_, created) = await app.PostAsync(Api + "runs/create", new { experiment_id = "0", start_time = 1 });
        var runId = (string)created!["run"]!["info"]!["run_id"]!;
        const int batches = 100, size = 1000;
        for (var b = 0; b < batches; b++)
        {
            var batch = new
            {
                run_id = runId,
                metrics = Enumerable.Range(0, size).Select(s => new { key = "loss", value = 1.0 / (1 + b * size + s), timestamp = 5000 + b * size + s, step = b * size + s }),
            };
            Assert.Equal(200, (await app.PostAsync(Api + "runs/log-batch", batch)).Status);
            if (b == 3) Assert.Equal(200, (await app.PostAsync(Api + "runs/log-batch", batch)).Status); // a client retry
        }

        var history = await HistoryAsync(app, runId, "loss");
        Assert.Equal(batches * size, history.Count);
        Assert.Equal(Enumerable.Range(0, batches * size).Select(i => (long)i), history.Select(p => (long)p["step"]!));

        // 101 batch rows (with the retry): three compactions of 32 leave five, plus three compacted rows.
        // History rows are in the run's experiment partition of the runs table, keyed h:{run id}:u:… and …:c:….
        var table = new TableClient(azurite.ConnectionString, app.TablePrefix + "runs");
        var rows = table.Query<TableEntity>(r => r.PartitionKey == "0", select: ["RowKey"]).Select(r => r.RowKey).ToList();
        Assert.Equal(5, rows.Count(r => r.StartsWith($"h:{runId}:u:", StringComparison.Ordinal)));
        Assert.Equal(3, rows.Count(r => r.StartsWith($"h:{runId}:c:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ConcurrentSinglePointWritersAreBufferedAndFlushedWithoutLoss()
    {
        var runId = await CreateRunAsync();
        // 8 writers × 120 log-metric calls on one run: the run-row buffer flushes to a batch row every ~150 points, so
        // the history ends up in several batch rows plus the buffer, all under concurrent ETag retries.
        var writers = Enumerable.Range(0, 8).Select(async w =>
        {
            for (var i = 0; i < 120; i++)
            {
                var step = w * 120 + i;
                var (status, _) = await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = i % 2 == 0 ? "even" : "odd", value = step * 0.5, timestamp = 10_000 + step, step });
                Assert.Equal(200, status);
            }
        });
        await Task.WhenAll(writers);

        var even = await HistoryAsync(runId, "even");
        var odd = await HistoryAsync(runId, "odd");
        Assert.Equal(480, even.Count);
        Assert.Equal(480, odd.Count);
        Assert.Equal(Enumerable.Range(0, 960).Select(i => (long)i), even.Concat(odd).Select(p => (long)p["step"]!).Order());
        var (_, run) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        var latestOdd = run!["run"]!["data"]!["metrics"]!.AsArray().Single(m => (string)m!["key"]! == "odd")!;
        Assert.Equal(959, (long)latestOdd["step"]!);
    }

    [Fact]
    public async Task EveryLegalKeyRoundTripsExactly()
    {
        var runId = await CreateRunAsync();
        string[] keys = ["a/b/c", "with space", "k:v", "größe", "x.y-z_1", "trailing.", "UPPER/lower"];
        var (status, _) = await _app.PostAsync(Api + "runs/log-batch", new
        {
            run_id = runId,
            metrics = keys.Select((k, i) => new { key = k, value = (double)i, timestamp = 1, step = 0 }),
            @params = keys.Select(k => new { key = k, value = "v:" + k }),
            tags = keys.Select(k => new { key = k, value = "t:" + k }),
        });
        Assert.Equal(200, status);
        var (_, run) = await _app.GetAsync($"{Api}runs/get?run_id={runId}");
        var data = run!["run"]!["data"]!;
        Assert.Equal(keys, data["metrics"]!.AsArray().Select(m => (string)m!["key"]!));
        Assert.Equal(keys.Select(k => "v:" + k), data["params"]!.AsArray().Select(p => (string)p!["value"]!));
        Assert.Equal(keys.Select(k => "t:" + k), data["tags"]!.AsArray().Where(t => (string)t!["key"]! != "mlflow.runName").Select(t => (string)t!["value"]!));
        foreach (var key in keys) Assert.Single(await HistoryAsync(runId, key));
    }

    [Fact]
    public async Task LogBatchCostsAtMostTwoStorageRequests()
    {
        var runId = await CreateRunAsync();
        using var client = _app.CreateClient();
        for (var call = 0; call < 3; call++)
        {
            var body = new
            {
                run_id = runId,
                metrics = Enumerable.Range(0, 1000).Select(i => new { key = $"k{i % 10}", value = 0.5, timestamp = 1, step = call * 100 + i / 10 }),
            };
            using var response = await client.PostAsync(Api + "runs/log-batch",
                new StringContent(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)response.StatusCode);
            Assert.InRange(int.Parse(response.Headers.GetValues("X-Tracker-Storage-Requests").Single()), 1, 2);
        }
    }

    [Fact]
    public async Task ParamsAreWriteOnceAndAFailedBatchWritesNothing()
    {
        var runId = await CreateRunAsync();
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-parameter", new { run_id = runId, key = "lr", value = "0.1" })).Status);
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-parameter", new { run_id = runId, key = "lr", value = "0.1" })).Status);
        var (status, error) = await _app.PostAsync(Api + "runs/log-batch", new
        {
            run_id = runId,
            @params = new[] { new { key = "lr", value = "0.2" } },
            metrics = new[] { new { key = "m", value = 1.0, timestamp = 1, step = 0 } },
        });
        Assert.Equal(400, status);
        Assert.Equal("INVALID_PARAMETER_VALUE", (string)error!["error_code"]!);
        Assert.Empty(await HistoryAsync(runId, "m"));
    }

    [Fact]
    public async Task DeletingAnExperimentDeletesItsRunsAndRestoreBringsThemBack()
    {
        var (_, created) = await _app.PostAsync(Api + "experiments/create", new { name = "cascade" });
        var experimentId = (string)created!["experiment_id"]!;
        var runs = new[] { await CreateRunAsync(experimentId), await CreateRunAsync(experimentId) };
        Assert.Equal(200, (await _app.PostAsync(Api + "experiments/delete", new { experiment_id = experimentId })).Status);
        foreach (var runId in runs)
            Assert.Equal("deleted", (string)(await _app.GetAsync($"{Api}runs/get?run_id={runId}")).Body!["run"]!["info"]!["lifecycle_stage"]!);
        var (status, error) = await _app.PostAsync(Api + "runs/create", new { experiment_id = experimentId });
        Assert.Equal(400, status);
        Assert.Equal("INVALID_PARAMETER_VALUE", (string)error!["error_code"]!);

        Assert.Equal(200, (await _app.PostAsync(Api + "experiments/restore", new { experiment_id = experimentId })).Status);
        var (_, search) = await _app.PostAsync(Api + "runs/search", new { experiment_ids = new[] { experimentId } });
        Assert.Equal(runs.Order(), search!["runs"]!.AsArray().Select(r => (string)r!["info"]!["run_id"]!).Order());
    }

    [Theory]
    [InlineData("tags.t = 'a'' or PartitionKey ne ''")]
    [InlineData("params.p = 'x' or 1 eq 1")]
    [InlineData("metrics.m > 1; DROP TABLE runs")]
    [InlineData("tags.t = 'unbalanced")]
    public async Task HostileFiltersAreRejectedWithoutTouchingData(string filter)
    {
        var (status, error) = await _app.PostAsync(Api + "runs/search", new { experiment_ids = new[] { "0" }, filter });
        Assert.Equal(400, status);
        Assert.Equal("INVALID_PARAMETER_VALUE", (string)error!["error_code"]!);
    }

    [Fact]
    public async Task SearchesOverTooManyExperimentsAreRefusedBeforeAnyRead()
    {
        var ids = Enumerable.Range(1, 10_000).Select(i => i.ToString()).ToArray();
        using var client = _app.CreateClient();
        using var response = await client.PostAsync(Api + "runs/search",
            new StringContent(System.Text.Json.JsonSerializer.Serialize(new { experiment_ids = ids }), Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("0", response.Headers.GetValues("X-Tracker-Storage-Requests").Single());
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/search", new { experiment_ids = ids[..1000] })).Status);
    }

    [Fact]
    public async Task TextPlainPostChangesNothing()
    {
        var (_, created) = await _app.PostAsync(Api + "experiments/create", new { name = "csrf-target" });
        var id = (string)created!["experiment_id"]!;
        using var client = _app.CreateClient();
        using var response = await client.PostAsync(Api + "experiments/update",
            new StringContent($$"""{"experiment_id":"{{id}}","new_name":"pwned"}""", Encoding.UTF8, "text/plain"));
        Assert.Equal(400, (int)response.StatusCode);
        var (_, experiment) = await _app.GetAsync($"{Api}experiments/get?experiment_id={id}");
        Assert.Equal("csrf-target", (string)experiment!["experiment"]!["name"]!);
    }

    [Fact]
    public async Task ForwardedCommaJoinedRunIdsAndBulkIntervalSampling()
    {
        var runs = new[] { await CreateRunAsync(), await CreateRunAsync() };
        foreach (var runId in runs)
            await _app.PostAsync(Api + "runs/log-batch", new
            {
                run_id = runId,
                metrics = Enumerable.Range(0, 10).Select(s => new { key = "acc", value = s / 10.0, timestamp = 1, step = s }),
            });
        // The Functions host's forwarding mode turns run_ids=a&run_ids=b into run_ids=a%2Cb.
        var (status, body) = await _app.GetAsync(
            $"{Api}metrics/get-history-bulk-interval?run_ids={runs[0]}%2C{runs[1]}&metric_key=acc&max_results=5");
        Assert.Equal(200, status);
        var metrics = body!["metrics"]!.AsArray();
        Assert.Equal(new long[] { 0, 2, 4, 6, 8, 9 }, metrics.Where(m => (string)m!["run_id"]! == runs[0]).Select(m => (long)m!["step"]!));
        Assert.Equal(runs, metrics.Select(m => (string)m!["run_id"]!).Distinct());
    }

    [Fact]
    public async Task BulkIntervalSeesEveryWriteAfterAnEarlierRead()
    {
        // A chart's history is reused while the run row is unchanged: each kind of write must show in the next read.
        var runId = await CreateRunAsync();
        async Task<long[]> StepsAsync()
        {
            var (status, body) = await _app.GetAsync($"{Api}metrics/get-history-bulk-interval?run_ids={runId}&metric_key=loss&max_results=2500");
            Assert.Equal(200, status);
            return [.. body!["metrics"]!.AsArray().Select(m => (long)m!["step"]!)];
        }
        object Batch(int from, int count) => new
        {
            run_id = runId,
            metrics = Enumerable.Range(from, count).Select(s => new { key = "loss", value = s / 10.0, timestamp = 1, step = s }),
        };

        await _app.PostAsync(Api + "runs/log-batch", Batch(0, 3));
        Assert.Equal(new long[] { 0, 1, 2 }, await StepsAsync());
        Assert.Equal(new long[] { 0, 1, 2 }, await StepsAsync());
        // A point buffered in the run row, then a batch too big for the buffer (history rows), then another key only.
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = "loss", value = 1, timestamp = 1, step = 3 })).Status);
        Assert.Equal(new long[] { 0, 1, 2, 3 }, await StepsAsync());
        await _app.PostAsync(Api + "runs/log-batch", Batch(4, 1000));
        Assert.Equal(Enumerable.Range(0, 1004).Select(s => (long)s), await StepsAsync());
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key = "acc", value = 1, timestamp = 1, step = 0 })).Status);
        Assert.Equal(1004, (await StepsAsync()).Length);
    }

    [Fact]
    public async Task NonFiniteValuesRoundTripAsMlflowStoresThem()
    {
        var runId = await CreateRunAsync();
        foreach (var (key, value) in new[] { ("nan", "NaN"), ("inf", "Infinity"), ("ninf", "-Infinity") })
            Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-metric", new { run_id = runId, key, value, timestamp = 1, step = 0 })).Status);
        Assert.Equal("NaN", (string)(await HistoryAsync(runId, "nan"))[0]["value"]!);
        Assert.Equal(double.MaxValue, (double)(await HistoryAsync(runId, "inf"))[0]["value"]!);
        Assert.Equal(double.MinValue, (double)(await HistoryAsync(runId, "ninf"))[0]["value"]!);
    }

    [Fact]
    public async Task CamelCaseIsAcceptedAndConflictingSpellingsAreRejected()
    {
        var runId = await CreateRunAsync();
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/set-tag", new { runId, key = "k", value = "v" })).Status);
        var other = await CreateRunAsync();
        var (status, _) = await _app.PostAsync(Api + "runs/set-tag", new { run_id = runId, runId = other, key = "k", value = "v" });
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task SearchSeesWritesMadeThroughAnotherInstance()
    {
        using var other = new TrackerApp(azurite, _app.TablePrefix);
        var (_, created) = await _app.PostAsync(Api + "experiments/create", new { name = "two-instances" });
        var experimentId = (string)created!["experiment_id"]!;
        var first = await CreateRunAsync(experimentId);
        async Task<List<string>> SearchAsync(string filter) =>
            ((await _app.PostAsync(Api + "runs/search", new { experiment_ids = new[] { experimentId }, filter })).Body?["runs"]?.AsArray()
                .Select(r => (string)r!["info"]!["run_id"]!).ToList()) ?? [];

        Assert.Equal([first], await SearchAsync("")); // this instance now holds the experiment's rows

        var (_, made) = await other.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 2 });
        var second = (string)made!["run"]!["info"]!["run_id"]!;
        Assert.Equal(200, (await other.PostAsync(Api + "runs/log-metric", new { run_id = first, key = "acc", value = 0.9, timestamp = 1, step = 1 })).Status);
        Assert.Equal(200, (await other.PostAsync(Api + "runs/delete", new { run_id = second })).Status);

        Assert.Equal([first], await SearchAsync("metrics.acc > 0.5"));
        Assert.Empty(await SearchAsync("attributes.run_id = '" + second + "'"));
        Assert.Equal(200, (await other.PostAsync(Api + "runs/restore", new { run_id = second })).Status);
        Assert.Equal([second, first], await SearchAsync(""));
    }

    [Fact]
    public async Task UnknownHostIsRejectedBeforeRouting()
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, Api + "experiments/create")
        {
            Content = new StringContent("""{"name":"rebound"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Host = "attacker.example";
        using var response = await client.SendAsync(request);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(404, (await _app.GetAsync($"{Api}experiments/get-by-name?experiment_name=rebound")).Status);
    }
}
