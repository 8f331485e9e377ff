using System.Net.Http.Headers;
using System.Text;

namespace Tracker.Bench.Workloads;

/// <summary>
/// Fuzz and bombs: a fixed, seeded list of hostile MLflow requests (malformed JSON, megabyte keys, deep nesting,
/// thousands of ids, concurrent 5 MB bodies, oversized and chunked bodies) against a server whose GC heap is capped
/// (<c>DOTNET_GCHeapHardLimit</c>, 384 MiB unless given). The server must survive it: still running, <c>/health</c>
/// answering 200, and no 5xx except 503 (a transient storage failure, which clients retry). Prints the answers by
/// status and the server's peak memory; fails the bench otherwise. Loopback only, bounded count, no retries.
/// </summary>
public static class FuzzWorkload
{
    public const string HeapLimitVariable = "DOTNET_GCHeapHardLimit";
    public const string DefaultHeapLimit = "0x18000000"; // 384 MiB: what a 512 MB Flex instance can spare

    private const int Seed = 20261130;
    private const int Megabyte = 1 << 20;
    private const int ConcurrentBodies = 8;

    private static readonly string[] JsonRoutes =
    [
        "runs/create", "runs/update", "runs/log-batch", "runs/log-metric", "runs/log-parameter", "runs/set-tag",
        "runs/delete-tag", "runs/search", "runs/log-inputs", "experiments/create", "experiments/search",
        "experiments/update", "experiments/set-experiment-tag",
    ];

    private sealed record Case(string Kind, HttpMethod Method, string Path, Func<HttpContent?> Body, bool Chunked = false)
    {
        /// <summary>What to print about the request if it goes wrong (bodies can be megabytes).</summary>
        public string? Label { get; init; }
    }

    public static async Task RunAsync(MlflowClient client, LaunchedServer? server, HttpClient http, bool quick, Report report, CancellationToken ct)
    {
        var experimentId = await client.CreateExperimentAsync(BenchNames.Experiment("fuzz"), ct);
        var runId = await client.CreateRunAsync(experimentId, "fuzz", ct);
        var random = new Random(Seed);
        var cases = Cases(random, runId, experimentId, quick);
        Report.Progress($"fuzz: {cases.Count} hostile requests (heap limit {server?.EnvironmentValue(HeapLimitVariable) ?? "unknown"})");

        await ServerUsageProbe.WaitForQuietAsync(server, ct);
        var probe = ServerUsageProbe.Start(server);
        var outcomes = new List<(Case Case, string Outcome, string Detail)>();
        foreach (var group in cases.GroupBy(c => c.Kind == "concurrent-5mb"))
        {
            if (group.Key)
            {
                foreach (var chunk in group.Chunk(ConcurrentBodies))
                {
                    outcomes.AddRange(await Task.WhenAll(chunk.Select(c => SendAsync(http, client.BaseUrl, client.BearerToken, c, ct))));
                }
            }
            else
            {
                foreach (var c in group)
                {
                    outcomes.Add(await SendAsync(http, client.BaseUrl, client.BearerToken, c, ct));
                }
            }
        }

        var usage = probe is null ? (ServerUsage?)null : await probe.StopAsync();
        var healthy = await HealthyAsync(http, client.BaseUrl, ct);
        var memoryAfter = server?.ReadStatusMemory();

        report.Count("fuzz_requests", outcomes.Count, "requests");
        foreach (var (outcome, count) in outcomes.GroupBy(o => o.Outcome).Select(g => (g.Key, g.Count())).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            report.Count($"fuzz_status_{outcome}", count, "requests");
        }

        if (usage is { } u)
        {
            report.Figure("fuzz_server_rss_before", u.ResidentBeforeMegabytes, "MB", "F1");
            report.Figure("fuzz_server_rss_peak", u.PeakResidentMegabytes, "MB", "F1");
        }
        else
        {
            report.NotAvailable("fuzz_server_rss_before");
            report.NotAvailable("fuzz_server_rss_peak");
        }

        if (memoryAfter is { } m)
        {
            report.Figure("fuzz_server_rss_after", m.ResidentMegabytes, "MB", "F1");
        }
        else
        {
            report.NotAvailable("fuzz_server_rss_after");
        }

        report.Text("fuzz_server_survived", healthy ? "yes" : "no");
        var unexpected = outcomes.Where(o => o.Outcome is ['5', ..] && o.Outcome != "503").ToList();
        if (!healthy || unexpected.Count > 0)
        {
            var examples = string.Join("\n", unexpected
                .Select(o => $"  {o.Case.Kind} {o.Case.Method} {Shorten(o.Case.Path)} {o.Case.Label}: {o.Outcome} {o.Detail}")
                .Distinct().Take(10));
            throw new BenchException($"fuzz: the server {(healthy ? "survived" : "did not survive")}; {unexpected.Count} unexpected 5xx\n{examples}");
        }
    }

    private static async Task<(Case, string, string)> SendAsync(HttpClient http, string baseUrl, string? bearerToken, Case c, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(c.Method, baseUrl + c.Path) { Content = c.Body() };
        if (bearerToken is not null)
        {
            // Signed in, so the hostile bodies reach the parsers rather than stopping at 401.
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
        }
        if (c.Chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        try
        {
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            return (c, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), body.Length > 300 ? body[..300] : body);
        }
        catch (HttpRequestException e)
        {
            // A server may answer 413 and close before it has read the whole body; the client sees the connection go.
            return (c, "connection_closed", e.Message);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return (c, "timeout", "no answer within the client's timeout");
        }
    }

    private static async Task<bool> HealthyAsync(HttpClient http, string baseUrl, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(baseUrl + "/health", ct);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static List<Case> Cases(Random random, string runId, string experimentId, bool quick)
    {
        var api = "/api/2.0/mlflow/";
        var cases = new List<Case>();
        var scale = quick ? 4 : 1;

        // Malformed and mistyped JSON, random bytes, wrong content types, to every JSON route.
        var malformed = MalformedBodies(runId, experimentId);
        for (var i = 0; i < 400 / scale; i++)
        {
            var route = JsonRoutes[random.Next(JsonRoutes.Length)];
            var bytes = i % 5 == 4 ? RandomBytes(random, random.Next(0, 8192)) : malformed[random.Next(malformed.Count)];
            var contentType = (i % 7) switch { 0 => "text/plain", 1 => null, 2 => "application/json; charset=utf-16", _ => "application/json" };
            cases.Add(new("malformed", HttpMethod.Post, api + route, () => Bytes(bytes, contentType))
            {
                Label = $"[{contentType ?? "no content type"}] {Shorten(Encoding.UTF8.GetString(bytes))}",
            });
        }

        // Huge keys and values, 1 to 4 MB each.
        foreach (var mb in new[] { 1, 2, 4 })
        {
            var big = new string('k', mb * Megabyte);
            cases.Add(new("huge-key", HttpMethod.Post, api + "runs/log-metric", () => Json($$"""{"run_id":"{{runId}}","key":"{{big}}","value":1,"timestamp":1,"step":0}""")));
            cases.Add(new("huge-key", HttpMethod.Post, api + "runs/log-parameter", () => Json($$"""{"run_id":"{{runId}}","key":"p","value":"{{big}}"}""")));
            cases.Add(new("huge-key", HttpMethod.Post, api + "runs/set-tag", () => Json($$"""{"run_id":"{{runId}}","key":"{{big}}","value":"v"}""")));
            cases.Add(new("huge-key", HttpMethod.Post, api + "experiments/create", () => Json($$"""{"name":"{{big}}"}""")));
            cases.Add(new("huge-key", HttpMethod.Post, api + "runs/search", () => Json($$"""{"experiment_ids":["{{experimentId}}"],"filter":"params.p = '{{big}}'"}""")));
            cases.Add(new("huge-key", HttpMethod.Post, api + "runs/log-batch", () => Json($$"""{"run_id":"{{runId}}","tags":[{"key":"{{big}}","value":"{{big}}"}]}""")));
        }

        // Deep nesting, in a field and at the root.
        foreach (var depth in new[] { 64, 1_000, 10_000, 100_000, 1_000_000 })
        {
            var arrays = new string('[', depth) + new string(']', depth);
            var objects = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
            cases.Add(new("deep-nesting", HttpMethod.Post, api + "runs/log-batch", () => Json($$"""{"run_id":"{{runId}}","metrics":{{arrays}}}""")));
            cases.Add(new("deep-nesting", HttpMethod.Post, api + "runs/search", () => Json(objects)));
            cases.Add(new("deep-nesting", HttpMethod.Post, api + "experiments/create", () => Json($$"""{"name":"n","tags":{{arrays}}}""")));
        }

        // Thousands of ids, in bodies and in query strings.
        foreach (var count in new[] { 1_000, 5_000, 50_000 })
        {
            var ids = string.Join(",", Enumerable.Range(0, count).Select(i => $"\"{i}\""));
            var runIds = string.Join("&", Enumerable.Range(0, Math.Min(count, 5_000)).Select(_ => "run_ids=" + runId));
            var metrics = string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"key":"m{{i % 100}}","value":{{i}},"timestamp":1,"step":{{i}}}"""));
            cases.Add(new("many-ids", HttpMethod.Post, api + "runs/search", () => Json($$"""{"experiment_ids":[{{ids}}]}""")));
            cases.Add(new("many-ids", HttpMethod.Post, api + "runs/log-batch", () => Json($$"""{"run_id":"{{runId}}","metrics":[{{metrics}}]}""")));
            cases.Add(new("many-ids", HttpMethod.Get, api + $"metrics/get-history-bulk-interval?metric_key=m&{runIds}", () => null));
            cases.Add(new("many-ids", HttpMethod.Post, api + "runs/search", () => Json($$"""{"experiment_ids":["{{experimentId}}"],"order_by":[{{string.Join(",", Enumerable.Repeat("\"metrics.m DESC\"", count))}}]}""")));
        }

        // 5 MB bodies, eight at a time: within the size limit, so each one is read in full.
        var fiveMb = 5 * Megabyte;
        var bigValue = new string('v', fiveMb - 200);
        var manyPoints = string.Join(",", Enumerable.Range(0, fiveMb / 70).Select(i => $$"""{"key":"m{{i % 10}}","value":{{i}}.5,"timestamp":1,"step":{{i}}}"""));
        for (var i = 0; i < 48 / scale; i++)
        {
            cases.Add(i % 2 == 0
                ? new("concurrent-5mb", HttpMethod.Post, api + "runs/log-batch", () => Json($$"""{"run_id":"{{runId}}","params":[{"key":"p","value":"{{bigValue}}"}]}"""))
                : new("concurrent-5mb", HttpMethod.Post, api + "runs/log-batch", () => Json($$"""{"run_id":"{{runId}}","metrics":[{{manyPoints}}]}""")));
        }

        // Over the body limit, announced (Content-Length) and not (chunked).
        foreach (var mb in new[] { 21, 32, 64 })
        {
            var body = new byte[mb * Megabyte];
            Array.Fill(body, (byte)' ');
            cases.Add(new("oversized", HttpMethod.Post, api + "runs/log-batch", () => Bytes(body, "application/json")));
            cases.Add(new("oversized-chunked", HttpMethod.Post, api + "runs/log-batch", () => Bytes(body, "application/json"), Chunked: true));
        }

        // Chunked bodies of ordinary and 5 MB size.
        for (var i = 0; i < 20 / scale; i++)
        {
            var step = 1_000_000 + i;
            cases.Add(new("chunked", HttpMethod.Post, api + "runs/log-metric",
                () => Json($$"""{"run_id":"{{runId}}","key":"fuzz","value":{{i}},"timestamp":1,"step":{{step}}}"""), Chunked: true));
        }

        cases.Add(new("chunked", HttpMethod.Post, api + "runs/log-batch", () => Json($$"""{"run_id":"{{runId}}","metrics":[{{manyPoints}}]}"""), Chunked: true));

        // Hostile artifact paths.
        foreach (var path in new[] { "../../etc/passwd", "%2e%2e/%2e%2e/x", "a/%252e%252e/b", "..\\..\\x", "/abs", "c:/x", new string('a', 60_000) })
        {
            cases.Add(new("artifact-path", HttpMethod.Put, $"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/{path}", () => Bytes([1, 2, 3], "application/octet-stream")));
            cases.Add(new("artifact-path", HttpMethod.Get, $"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/{path}", () => null));
        }

        return cases;
    }

    private static List<byte[]> MalformedBodies(string runId, string experimentId)
    {
        string[] texts =
        [
            "", "{", "}", "[", "null", "1", "\"s\"", "[]", "{}", "{\"run_id\":", "{\"run_id\":\"" + runId,
            "{\"run_id\": 12, \"metrics\": \"x\"}",
            "{\"run_id\":\"" + runId + "\",\"metrics\":[{\"key\":null,\"value\":\"NaN\",\"timestamp\":\"abc\",\"step\":1e400}]}",
            "{\"run_id\":\"" + runId + "\",\"key\":\"m\",\"value\":1e99999,\"timestamp\":-1,\"step\":123456789012345678901234567890}",
            "{\"run_id\":\"" + runId + "\",\"key\":\"m\",\"value\":NaN,\"timestamp\":1,\"step\":0}",
            "{\"run_id\":\"" + runId + "\",\"run_id\":\"other\",\"key\":\"k\",\"value\":\"v\"}",
            "{\"experiment_id\":\"" + experimentId + "\",}", "{/*c*/\"name\":\"x\"}", "\uFEFF{\"name\":\"bom\"}",
            "{\"name\":\"\\ud800\"}", "{\"name\":\"\\u0000\"}", "{\"name\":\"a\u0001b\"}",
            "{\"experiment_ids\":[\"" + experimentId + "\"],\"max_results\":-5}",
            "{\"experiment_ids\":[\"" + experimentId + "\"],\"max_results\":99999999999}",
            "{\"experiment_ids\":[\"" + experimentId + "\"],\"filter\":\"metrics.m > 'x' and and\"}",
            "{\"experiment_ids\":[\"" + experimentId + "\"],\"page_token\":\"!!not-base64!!\"}",
            "{\"experiment_ids\":[\"" + experimentId + "\"],\"order_by\":[\"metrics.`a DESC\"]}",
            "{\"run_id\":\"" + runId + "\",\"status\":\"EXPLODED\",\"end_time\":\"soon\"}",
            "{\"run_id\":\"" + runId + "\",\"datasets\":[{\"dataset\":{}}]}",
            "{\"run_id\":\"../../x\",\"key\":\"k\",\"value\":\"v\"}",
        ];
        var bodies = texts.Select(t => Encoding.UTF8.GetBytes(t)).ToList();
        bodies.Add([0xC3, 0x28, 0x7B, 0x7D]); // invalid UTF-8
        bodies.Add([0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00]); // UTF-16 with a BOM
        return bodies;
    }

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + "…" : text;

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static ByteArrayContent Json(string text) => Bytes(Encoding.UTF8.GetBytes(text), "application/json");

    private static ByteArrayContent Bytes(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }
}
