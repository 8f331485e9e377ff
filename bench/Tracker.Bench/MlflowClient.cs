using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tracker.Bench;

/// <summary>
/// The few MLflow REST calls the bench makes, sent the way the MLflow Python client sends them:
/// POST with a JSON body and <c>Content-Type: application/json</c>, GET with a query string.
/// Only the public API under <c>/api/2.0/mlflow/</c>, so the same program runs against MLflow.
/// Any non-2xx answer throws with the status and body; the bench never retries and never counts
/// a failure as work done. With a <paramref name="bearerToken"/> every call carries <c>Authorization: Bearer …</c>, as
/// the client sends <c>MLFLOW_TRACKING_TOKEN</c>.
/// </summary>
public sealed class MlflowClient(HttpClient http, string baseUrl, string? bearerToken = null)
{
    /// <summary>Tracker's diagnostic header (Tracker:Diagnostics:StorageRequestHeader=true).</summary>
    public const string StorageRequestsHeader = "X-Tracker-Storage-Requests";

    /// <summary>Tracker's diagnostic header on search answers (same switch): what the instance's search cache holds,
    /// as <c>runs=&lt;n&gt;; bytes=&lt;m&gt;</c>.</summary>
    public const string SearchCacheHeader = "X-Tracker-Search-Cache";

    /// <summary>What the Python client always asks for when it reads a metric history.</summary>
    public const int HistoryPageSize = 25_000;

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly string _root = baseUrl.TrimEnd('/');

    public string BaseUrl => _root;

    /// <summary>The token this client signs in with, for workloads that build their own requests.</summary>
    public string? BearerToken => bearerToken;

    public async Task CheckHealthAsync(CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _root + "/health");
        try
        {
            await SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new BenchException($"cannot reach {request.RequestUri}: {e.Message}");
        }
    }

    public async Task<string> CreateExperimentAsync(string name, CancellationToken ct)
    {
        var answer = await PostAsync("experiments/create", WireJson.CreateExperiment(name), ct);
        return Read(answer, "experiments/create", root => RequiredString(root, "experiment_id", "experiments/create"));
    }

    public async Task<string> CreateRunAsync(string experimentId, string runName, CancellationToken ct)
    {
        var body = WireJson.CreateRun(experimentId, runName, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var answer = await PostAsync("runs/create", body, ct);
        return Read(answer, "runs/create", root => RequiredString(root.GetProperty("run").GetProperty("info"), "run_id", "runs/create"));
    }

    /// <summary>Sends a prebuilt log-batch body; returns Tracker's storage-request count if it sent one.</summary>
    public async Task<int?> LogBatchAsync(byte[] body, CancellationToken ct) =>
        (await PostAsync("runs/log-batch", body, ct)).StorageRequests;

    /// <summary>Logs one point; returns Tracker's storage-request count if it sent one.</summary>
    public async Task<int?> LogMetricAsync(string runId, MetricPoint metric, CancellationToken ct) =>
        (await PostAsync("runs/log-metric", WireJson.LogMetric(runId, metric), ct)).StorageRequests;

    public async Task<MetricHistoryPage> GetMetricHistoryPageAsync(string runId, string metricKey, string? pageToken, CancellationToken ct)
    {
        // Same parameters, in the same order, as the recorded 2.10.2 client request.
        var query = new StringBuilder()
            .Append("run_uuid=").Append(Uri.EscapeDataString(runId))
            .Append("&metric_key=").Append(Uri.EscapeDataString(metricKey))
            .Append("&run_id=").Append(Uri.EscapeDataString(runId))
            .Append("&max_results=").Append(HistoryPageSize.ToString(CultureInfo.InvariantCulture));
        if (pageToken is not null)
        {
            query.Append("&page_token=").Append(Uri.EscapeDataString(pageToken));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_root}/api/2.0/mlflow/metrics/get-history?{query}");
        var answer = await SendAsync(request, ct);
        return Read(answer, "metrics/get-history", root =>
        {
            // An unknown key answers {} (no "metrics" at all).
            var metrics = new List<MetricPoint>();
            if (root.TryGetProperty("metrics", out var items))
            {
                foreach (var item in items.EnumerateArray())
                {
                    metrics.Add(ReadMetric(item));
                }
            }

            return new MetricHistoryPage(metrics, NextPageToken(root));
        });
    }

    public async Task<SearchRunsPage> SearchRunsAsync(SearchRunsQuery query, string? pageToken, CancellationToken ct)
    {
        var answer = await PostAsync("runs/search", WireJson.SearchRuns(query, pageToken), ct);
        return Read(answer, "runs/search", root =>
        {
            // No matches answers without "runs" (empty repeated fields are omitted).
            var runs = new List<RunSummary>();
            if (root.TryGetProperty("runs", out var items))
            {
                foreach (var run in items.EnumerateArray())
                {
                    var runId = RequiredString(run.GetProperty("info"), "run_id", "runs/search");
                    var metrics = new Dictionary<string, double>();
                    if (run.TryGetProperty("data", out var data) && data.TryGetProperty("metrics", out var latest))
                    {
                        foreach (var metric in latest.EnumerateArray())
                        {
                            var point = ReadMetric(metric);
                            metrics[point.Key] = point.Value;
                        }
                    }

                    runs.Add(new RunSummary(runId, metrics));
                }
            }

            return new SearchRunsPage(runs, NextPageToken(root)) { Cache = answer.SearchCache };
        });
    }

    /// <summary>
    /// Any other call of the public API: a JSON body for POST, PATCH and DELETE, a query string for GET. Answers the
    /// parsed JSON, Tracker's storage-request count for the call, and how long the exchange took until the whole body
    /// was in (parsing it, the client's own work, not included: for a 3 MB answer it takes longer than the server).
    /// </summary>
    /// <param name="api">The API root: MLflow's, or <c>api/2.0/tracker</c> for Tracker's own routes (promotions).</param>
    public async Task<(JsonElement Json, int? StorageRequests, TimeSpan Exchange)> CallAsync(
        HttpMethod method, string endpoint, CancellationToken ct, string? query = null, byte[]? body = null, string api = "api/2.0/mlflow")
    {
        using var request = new HttpRequestMessage(method, $"{_root}/{api}/{endpoint}{(query is null ? "" : "?" + query)}");
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } };
        }

        var started = Stopwatch.GetTimestamp();
        var answer = await SendAsync(request, ct);
        var exchange = Stopwatch.GetElapsedTime(started);
        return (Read(answer, endpoint, root => root.Clone()), answer.StorageRequests, exchange);
    }

    private async Task<Answer> PostAsync(string endpoint, byte[] body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_root}/api/2.0/mlflow/{endpoint}")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } },
        };
        return await SendAsync(request, ct);
    }

    private async Task<Answer> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        if (bearerToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw BenchHttp.Failure(request.Method, request.RequestUri!.ToString(), response, body);
        }

        return new Answer(body, StorageRequests(response), SearchCacheState.Parse(HeaderValue(response, SearchCacheHeader)));
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static int? StorageRequests(HttpResponseMessage response) =>
        response.Headers.TryGetValues(StorageRequestsHeader, out var values)
        && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count)
            ? count
            : null;

    /// <summary>Parses an answer; a body of the wrong shape stops the bench like a failed call.</summary>
    private static T Read<T>(Answer answer, string endpoint, Func<JsonElement, T> read)
    {
        try
        {
            using var json = JsonDocument.Parse(answer.Body);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new BenchException($"{endpoint} answered with JSON that is not an object");
            }

            return read(json.RootElement);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new BenchException($"{endpoint} answered with an unexpected body: {e.Message}");
        }
    }

    private static string RequiredString(JsonElement element, string name, string endpoint) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s
            ? s
            : throw new BenchException($"{endpoint} answered without '{name}'");

    /// <summary>An absent, null or empty token all mean "last page".</summary>
    private static string? NextPageToken(JsonElement root) =>
        root.TryGetProperty("next_page_token", out var token) && token.ValueKind == JsonValueKind.String && token.GetString() is { Length: > 0 } s
            ? s
            : null;

    /// <summary>Reads a Metric; proto defaults apply to omitted fields, and NaN/±Infinity come as strings.</summary>
    private static MetricPoint ReadMetric(JsonElement m)
    {
        var key = m.TryGetProperty("key", out var k) ? k.GetString() ?? "" : "";
        var value = m.TryGetProperty("value", out var v)
            ? v.ValueKind == JsonValueKind.String ? double.Parse(v.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture) : v.GetDouble()
            : 0;
        return new MetricPoint(key, value, ReadInt64(m, "timestamp"), ReadInt64(m, "step"));
    }

    private static long ReadInt64(JsonElement m, string name) =>
        !m.TryGetProperty(name, out var v) ? 0
        : v.ValueKind == JsonValueKind.String ? long.Parse(v.GetString()!, CultureInfo.InvariantCulture)
        : v.GetInt64();

    private readonly record struct Answer(byte[] Body, int? StorageRequests, SearchCacheState? SearchCache);
}
