using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Issue 9's registry figures: <c>registered-models/search</c> over 1,000 models, <c>model-versions/search</c> over
/// 10,000 versions, <c>get-latest-versions</c> and <c>models:/name@alias</c> resolution (<c>registered-models/alias</c>),
/// each with the storage requests Tracker made for it (the goal: none per model or per version). The registry is
/// generated (every model tagged <c>team=team-(i mod 10)</c>, versions spread over ten runs, every tenth model with a
/// Production version and a <c>champion</c> alias), so each answer is checked against the count it must have.
/// </summary>
public static class RegistryWorkload
{
    private const int Runs = 10;
    private const string Alias = "champion";

    public static async Task RunAsync(MlflowClient client, WorkloadSizes sizes, Report report, CancellationToken ct)
    {
        var prefix = BenchNames.Experiment("registry");
        var models = sizes.RegisteredModels;
        var versionsPerModel = Math.Max(1, sizes.ModelVersions / models);
        var runIds = await SetUpAsync(client, prefix, models, versionsPerModel, sizes.SearchSetupTasks, report, ct);
        var sample = ModelName(prefix, models / 2 / 10 * 10); // one of every tenth: it has Production and the alias

        await TimeAsync(client, "registry_search_models_all", sizes, report, models, ct, HttpMethod.Get, "registered-models/search",
            Query(("filter", $"name LIKE '{prefix}-%'"), ("max_results", "1000")), body: null, answer => Count(answer, "registered_models"));
        await TimeAsync(client, "registry_search_models_tag", sizes, report, models / 10, ct, HttpMethod.Get, "registered-models/search",
            Query(("filter", $"name LIKE '{prefix}-%' and tags.team = 'team-3'"), ("max_results", "1000")), body: null,
            answer => Count(answer, "registered_models"));
        await TimeAsync(client, "registry_search_versions_all", sizes, report, models * versionsPerModel, ct, HttpMethod.Get,
            "model-versions/search", Query(("filter", $"name LIKE '{prefix}-%'"), ("max_results", "200000")), body: null,
            answer => Count(answer, "model_versions"));
        await TimeAsync(client, "registry_search_versions_run", sizes, report, models * versionsPerModel / Runs, ct, HttpMethod.Get,
            "model-versions/search", Query(("filter", $"run_id = '{runIds[3]}'"), ("max_results", "200000")), body: null,
            answer => Count(answer, "model_versions"));
        await TimeAsync(client, "registry_get_latest_versions", sizes, report, 1, ct, HttpMethod.Post, "registered-models/get-latest-versions",
            query: null, WireJson.Object(w =>
            {
                w.WriteString("name", sample);
                w.WriteStartArray("stages");
                w.WriteStringValue("Production");
                w.WriteEndArray();
            }), answer => Count(answer, "model_versions"));
        await TimeAsync(client, "registry_alias_resolution", sizes, report, 1, ct, HttpMethod.Get, "registered-models/alias",
            Query(("name", sample), ("alias", Alias)), body: null, answer => answer.TryGetProperty("model_version", out _) ? 1 : 0);
        await TimeAsync(client, "registry_get_model", sizes, report, 1, ct, HttpMethod.Get, "registered-models/get",
            Query(("name", sample)), body: null, answer => answer.TryGetProperty("registered_model", out _) ? 1 : 0);
    }

    private static string ModelName(string prefix, int i) => $"{prefix}-{i.ToString("D5", CultureInfo.InvariantCulture)}";

    /// <summary>Setup, timed as one figure: runs to source versions from, then models and their versions from several tasks.</summary>
    private static async Task<string[]> SetUpAsync(
        MlflowClient client, string prefix, int models, int versionsPerModel, int tasks, Report report, CancellationToken ct)
    {
        Report.Progress($"registry: creating {models} models with {versionsPerModel} versions each, {tasks} tasks");
        var started = Stopwatch.GetTimestamp();
        var experimentId = await client.CreateExperimentAsync(prefix, ct);
        var runIds = new string[Runs];
        for (var r = 0; r < Runs; r++)
        {
            runIds[r] = await client.CreateRunAsync(experimentId, $"registry-source-{r}", ct);
        }

        var next = -1;
        await Concurrently.RunAsync(tasks, async (_, token) =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < models)
            {
                var name = ModelName(prefix, i);
                await client.CallAsync(HttpMethod.Post, "registered-models/create", token, body: WireJson.Object(w =>
                {
                    w.WriteString("name", name);
                    w.WriteStartArray("tags");
                    w.WriteStartObject();
                    w.WriteString("key", "team");
                    w.WriteString("value", $"team-{i % 10}");
                    w.WriteEndObject();
                    w.WriteEndArray();
                }));
                for (var v = 0; v < versionsPerModel; v++)
                {
                    var runId = runIds[(i + v) % Runs];
                    await client.CallAsync(HttpMethod.Post, "model-versions/create", token, body: WireJson.Object(w =>
                    {
                        w.WriteString("name", name);
                        w.WriteString("source", $"runs:/{runId}/model");
                        w.WriteString("run_id", runId);
                    }));
                }

                if (i % 10 == 0)
                {
                    await client.CallAsync(HttpMethod.Post, "model-versions/transition-stage", token, body: WireJson.Object(w =>
                    {
                        w.WriteString("name", name);
                        w.WriteString("version", "1");
                        w.WriteString("stage", "Production");
                        w.WriteBoolean("archive_existing_versions", true);
                    }));
                    await client.CallAsync(HttpMethod.Post, "registered-models/alias", token, body: WireJson.Object(w =>
                    {
                        w.WriteString("name", name);
                        w.WriteString("alias", Alias);
                        w.WriteString("version", versionsPerModel.ToString(CultureInfo.InvariantCulture));
                    }));
                }
            }
        }, ct);
        report.Milliseconds("registry_setup", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return runIds;
    }

    /// <summary>One call repeated; every answer must hold <paramref name="expected"/> items. Prints the median time from
    /// sending the request to having the whole answer (the bench's parsing of it left out) and the storage requests the
    /// last call made (when the server reports them).</summary>
    private static async Task TimeAsync(
        MlflowClient client, string name, WorkloadSizes sizes, Report report, int expected, CancellationToken ct,
        HttpMethod method, string endpoint, string? query, byte[]? body, Func<JsonElement, int> count)
    {
        Report.Progress($"registry: {name} ({method} {endpoint}{(query is null ? "" : "?" + Uri.UnescapeDataString(query))})");
        var milliseconds = new List<double>();
        int? storageRequests = null;
        for (var repetition = 0; repetition < Math.Max(5, sizes.SearchRepetitions); repetition++)
        {
            var (answer, requests, exchange) = await client.CallAsync(method, endpoint, ct, query, body);
            milliseconds.Add(exchange.TotalMilliseconds);
            storageRequests = requests;
            var actual = count(answer);
            if (actual != expected)
            {
                throw new BenchException($"{name}: expected {expected} items, got {actual}");
            }
        }

        report.Milliseconds($"{name}_median", Stats.Median(milliseconds));
        report.Count($"{name}_count", expected, "items");
        if (storageRequests is { } n)
        {
            report.Count($"{name}_storage_requests", n, "requests");
        }
    }

    private static int Count(JsonElement answer, string field) =>
        answer.TryGetProperty(field, out var items) ? items.GetArrayLength() : 0;

    private static string Query(params (string Name, string Value)[] parameters) =>
        string.Join('&', parameters.Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value)}"));
}
