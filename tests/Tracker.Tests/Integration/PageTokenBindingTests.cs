using System.Text.Json.Nodes;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Page tokens over real routes: paging still returns every item exactly once, and a token only continues the query
/// and the deployment it came from (issue 8, item 6); anything else is a 400 INVALID_PARAMETER_VALUE.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PageTokenBindingTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    private async Task<string> CreateExperimentAsync(string name)
    {
        var (status, body) = await _app.PostAsync(Api + "experiments/create", new { name });
        Assert.Equal(200, status);
        return (string)body!["experiment_id"]!;
    }

    /// <summary>An experiment with <paramref name="runs"/> runs, tagged by index, and each run's id in index order.</summary>
    private async Task<(string Experiment, List<string> Runs)> ExperimentWithRunsAsync(int runs)
    {
        var experimentId = await CreateExperimentAsync("paging-" + Guid.NewGuid().ToString("N"));
        var ids = new List<string>();
        for (var i = 0; i < runs; i++)
        {
            var (_, run) = await _app.PostAsync(Api + "runs/create", new { experiment_id = experimentId, start_time = 1000 + i });
            var runId = (string)run!["run"]!["info"]!["run_id"]!;
            Assert.Equal(200, (await _app.PostAsync(Api + "runs/set-tag", new { run_id = runId, key = "even", value = i % 2 == 0 ? "yes" : "no" })).Status);
            ids.Add(runId);
        }
        return (experimentId, ids);
    }

    private static List<string> RunIds(JsonNode? page) => page?["runs"]?.AsArray().Select(r => (string)r!["info"]!["run_id"]!).ToList() ?? [];

    private static void AssertInvalidToken((int Status, JsonNode? Body) response)
    {
        Assert.True(response.Status == 400, $"{response.Status}: {response.Body?.ToJsonString()}");
        Assert.Equal("INVALID_PARAMETER_VALUE", (string?)response.Body?["error_code"]);
        Assert.StartsWith("Invalid page token", (string?)response.Body?["message"]);
    }

    [Fact]
    public async Task SearchingRunsTwoAndAHalfPagesReturnsEveryRunOnce()
    {
        var (experiment, runs) = await ExperimentWithRunsAsync(10);
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            // MLflow's client asks for only what it still lacks on its last page: the page size may change.
            var (status, page) = await _app.PostAsync(Api + "runs/search", new
            {
                experiment_ids = new[] { experiment },
                max_results = pages < 2 ? 4 : 2,
                order_by = new[] { "attributes.start_time ASC" },
                page_token = token,
            });
            Assert.Equal(200, status);
            seen.AddRange(RunIds(page));
            token = (string?)page!["next_page_token"];
            pages++;
        } while (token is not null);
        Assert.Equal(3, pages);
        Assert.Equal(runs, seen);
    }

    [Fact]
    public async Task SearchingExperimentsAndMetricHistoryPageThroughEverything()
    {
        var prefix = "pages-" + Guid.NewGuid().ToString("N");
        var experiments = new List<string>();
        for (var i = 0; i < 5; i++) experiments.Add(await CreateExperimentAsync($"{prefix}-{i}"));
        var seen = new List<string>();
        string? token = null;
        do
        {
            var (status, page) = await _app.GetAsync($"{Api}experiments/search?max_results=2&filter={Uri.EscapeDataString($"name LIKE '{prefix}-%'")}" +
                                                    $"&order_by={Uri.EscapeDataString("name ASC")}" + (token is null ? "" : "&page_token=" + token));
            Assert.Equal(200, status);
            seen.AddRange(page!["experiments"]!.AsArray().Select(e => (string)e!["experiment_id"]!));
            token = (string?)page["next_page_token"];
        } while (token is not null);
        Assert.Equal(experiments, seen);

        var (_, runs) = await ExperimentWithRunsAsync(1);
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-batch", new
        {
            run_id = runs[0],
            metrics = Enumerable.Range(0, 5).Select(s => new { key = "m", value = (double)s, timestamp = 1, step = s }),
        })).Status);
        var steps = new List<long>();
        token = null;
        do
        {
            var (status, page) = await _app.GetAsync($"{Api}metrics/get-history?run_id={runs[0]}&metric_key=m&max_results=2" + (token is null ? "" : "&page_token=" + token));
            Assert.Equal(200, status);
            steps.AddRange(page!["metrics"]!.AsArray().Select(m => (long)m!["step"]!));
            token = (string?)page["next_page_token"];
        } while (token is not null);
        Assert.Equal([0L, 1, 2, 3, 4], steps);
    }

    [Fact]
    public async Task ATokenContinuesOnlyTheSearchItCameFrom()
    {
        var (experiment, _) = await ExperimentWithRunsAsync(3);
        var (other, _) = await ExperimentWithRunsAsync(3);
        object Search(string[] ids, string? filter, string? token, string view = "ACTIVE_ONLY", string[]? orderBy = null) => new
        {
            experiment_ids = ids, filter, max_results = 1, page_token = token, run_view_type = view, order_by = orderBy ?? [],
        };
        var (_, first) = await _app.PostAsync(Api + "runs/search", Search([experiment], "tags.even = 'yes'", null));
        var token = (string)first!["next_page_token"]!;

        // The same search goes on.
        Assert.Equal(200, (await _app.PostAsync(Api + "runs/search", Search([experiment], "tags.even = 'yes'", token))).Status);
        // Any other is refused: other experiments, filter, view or ordering.
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search([other], "tags.even = 'yes'", token)));
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search([experiment, other], "tags.even = 'yes'", token)));
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search([experiment], "tags.even = 'no'", token)));
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search([experiment], null, token)));
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search([experiment], "tags.even = 'yes'", token, view: "ALL")));
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search([experiment], "tags.even = 'yes'", token, orderBy: ["attributes.start_time DESC"])));
        // ... and so is carrying it to another operation.
        AssertInvalidToken(await _app.GetAsync($"{Api}experiments/search?max_results=1&page_token={token}"));
    }

    [Fact]
    public async Task AHistoryTokenContinuesOnlyItsRunAndKey()
    {
        var (_, runs) = await ExperimentWithRunsAsync(2);
        foreach (var run in runs)
            Assert.Equal(200, (await _app.PostAsync(Api + "runs/log-batch", new
            {
                run_id = run,
                metrics = Enumerable.Range(0, 3).SelectMany(s => new[] { "a", "b" }.Select(key => new { key, value = 1.0, timestamp = 1, step = s })),
            })).Status);
        var (_, page) = await _app.GetAsync($"{Api}metrics/get-history?run_id={runs[0]}&metric_key=a&max_results=1");
        var token = (string)page!["next_page_token"]!;

        Assert.Equal(200, (await _app.GetAsync($"{Api}metrics/get-history?run_id={runs[0]}&metric_key=a&max_results=1&page_token={token}")).Status);
        AssertInvalidToken(await _app.GetAsync($"{Api}metrics/get-history?run_id={runs[0]}&metric_key=b&max_results=1&page_token={token}"));
        AssertInvalidToken(await _app.GetAsync($"{Api}metrics/get-history?run_id={runs[1]}&metric_key=a&max_results=1&page_token={token}"));
    }

    [Fact]
    public async Task ForgedAlteredAndForeignTokensAreRefused()
    {
        var (experiment, _) = await ExperimentWithRunsAsync(3);
        object Search(string? token) => new { experiment_ids = new[] { experiment }, max_results = 1, page_token = token };
        var (_, first) = await _app.PostAsync(Api + "runs/search", Search(null));
        var token = (string)first!["next_page_token"]!;

        // Upstream's unsigned {"offset": 2}, and the issued token with one character changed.
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search("eyJvZmZzZXQiOiAyfQ==")));
        var altered = token[..10] + (token[10] == 'A' ? 'B' : 'A') + token[11..];
        AssertInvalidToken(await _app.PostAsync(Api + "runs/search", Search(altered)));

        // Another instance of this deployment shares its key (kept in storage) and continues the search...
        using (var sameDeployment = new TrackerApp(azurite, _app.TablePrefix))
            Assert.Equal(200, (await sameDeployment.PostAsync(Api + "runs/search", Search(token))).Status);
        // ... but a deployment with another key, even over the same data, does not.
        var otherKey = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray());
        using var otherDeployment = new TrackerApp(azurite, _app.TablePrefix, new Dictionary<string, string> { ["Tracker:Auth:ServerKey"] = otherKey });
        AssertInvalidToken(await otherDeployment.PostAsync(Api + "runs/search", Search(token)));
    }
}
