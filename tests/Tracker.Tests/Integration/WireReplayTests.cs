using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Replays the real MLflow 2.10.2 client traffic in shared/mlflow-wire against Tracker and compares what the wire
/// README says a compatible server must reproduce: status codes, error codes, field names, nesting, JSON types and list
/// order. Ids, server-side times and page tokens are not compared literally; ids and page tokens are mapped from
/// recorded to ours (Tracker's tokens are signed and bound to their query, so the recorded ones could not verify).
/// Artifact downloads must return exactly the bytes uploaded, with the recorded media type.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WireReplayTests(AzuriteFixture azurite) : IDisposable
{
    private TrackerApp _app = null!;

    public void Dispose() => _app?.Dispose();

    [Fact]
    public Task RecordedScenariosBehaveTheSame()
    {
        _app = new TrackerApp(azurite);
        return ReplayAsync(authorization: null);
    }

    /// <summary>
    /// The same traffic against Tracker with auth on, as deployed, from a plain user (no admin) with a token: the
    /// experiments they create are theirs to manage, and the shipped default permission lets them read the Default one.
    /// </summary>
    [Fact]
    public async Task RecordedScenariosBehaveTheSameWithAuthOn()
    {
        _app = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["Tracker:Auth:Disabled"] = "false" });
        var store = _app.Services.GetRequiredService<AuthStore>();
        await store.CreateUserAsync("replayer", password: null);
        var token = (await store.CreateTokenAsync("replayer", "wire-replay")).Token;
        using (var client = _app.CreateClient())
        using (var anonymous = await client.GetAsync("/api/2.0/mlflow/experiments/get?experiment_id=0"))
            Assert.Equal(401, (int)anonymous.StatusCode); // auth is really on
        await ReplayAsync(new AuthenticationHeaderValue("Bearer", token));
    }

    private async Task ReplayAsync(AuthenticationHeaderValue? authorization)
    {
        using var client = _app.CreateClient(new() { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = authorization;
        await new WireReplay().RunAsync(client);
    }
}

/// <summary>
/// The replay itself, against any Tracker: the in-process app (<see cref="WireReplayTests"/>) or the published
/// executable (Host/PublishedHandlerTests). One instance per replay: it learns the ids the server hands out as it goes.
/// </summary>
internal sealed partial class WireReplay
{
    private static readonly string[] Scenarios = ["experiments", "runs", "validation", "search_runs", "artifacts", "registry"];
    private const string ArtifactRoute = "/api/2.0/mlflow-artifacts/artifacts/";
    private static readonly HashSet<string> ServerTimes = ["creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp"];

    private readonly Dictionary<string, string> _experimentIds = new() { ["0"] = "0" };
    private readonly Dictionary<string, string> _runIds = [];
    private readonly Dictionary<string, string> _pageTokens = [];
    // Metrics of requests the recording accepted but Tracker rightly rejects: later answers lack them.
    private readonly HashSet<string> _rejectedMetricKeys = [];
    // What each artifact PUT sent, by Tracker-side path, to compare downloads against.
    private readonly Dictionary<string, byte[]> _uploaded = [];

    /// <summary>Replays the recording through <paramref name="client"/> (its base address and credentials set) and fails
    /// with every mismatch.</summary>
    public async Task RunAsync(HttpClient client)
    {
        var lines = File.ReadLines(Path.Combine(RepoPaths.Fixtures, "mlflow-wire", "mlflow-2.10.2-client-server.jsonl"))
            .Select(l => JsonNode.Parse(l)!.AsObject())
            .Where(l => Scenarios.Contains((string)l["scenario"]!))
            .ToList();
        Assert.True(lines.Count > 125, "the recording should hold the six scenarios");

        var mismatches = new List<string>();
        foreach (var line in lines)
        {
            var method = (string)line["method"]!;
            var path = MapArtifactPath((string)line["path"]!);
            var query = MapQuery((string?)line["query"] ?? "");
            using var request = new HttpRequestMessage(new HttpMethod(method), path + (query.Length > 0 ? "?" + query : ""));
            var recordedBody = line["request"];
            if (method == "PUT" && path.StartsWith(ArtifactRoute, StringComparison.Ordinal))
            {
                // A raw file body, recorded parsed (JSON text) or as its length.
                var bytes = _uploaded[path] = RecordedBytes(recordedBody!);
                request.Content = new ByteArrayContent(bytes);
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse((string)line["content_type"]!);
            }
            else if (recordedBody is JsonObject body && body.ContainsKey("_bytes"))
                request.Content = new StringContent("{not json", Encoding.UTF8, "application/json"); // the recorded 9-byte malformed body
            else if (recordedBody is not null)
                request.Content = new StringContent(MapRequest(recordedBody).ToJsonString(), Encoding.UTF8, (string?)line["content_type"] ?? "application/json");

            using var response = await client.SendAsync(request);
            var where = $"{line["scenario"]} {method} {path}?{query}";
            if (method == "GET" && path.StartsWith(ArtifactRoute, StringComparison.Ordinal))
            {
                await CompareDownloadAsync(line, path, response, where, mismatches);
                continue;
            }
            var ours = await TrackerApp.ReadAsync(response);
            var (expectedStatus, expected) = Expected(line);
            if ((int)response.StatusCode != expectedStatus)
            {
                mismatches.Add($"{where}: status {(int)response.StatusCode}, expected {expectedStatus}; body {ours?.ToJsonString()}");
                continue;
            }
            LearnIds(path, expected, ours);
            Compare(expected, ours, where, path.EndsWith("experiments/search", StringComparison.Ordinal) && !HasFilter(recordedBody), mismatches);
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private static bool HasFilter(JsonNode? body) => body is JsonObject o && o["filter"] is not null;

    /// <summary>
    /// A download comes back as recorded: the status, the media type, and exactly the bytes uploaded (and recorded).
    /// </summary>
    private async Task CompareDownloadAsync(JsonObject line, string path, HttpResponseMessage response, string where, List<string> mismatches)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync();
        if ((int)response.StatusCode != (int)line["status"]!)
            mismatches.Add($"{where}: status {(int)response.StatusCode}, expected {line["status"]}");
        else if (response.Content.Headers.ContentType?.MediaType != (string?)line["response_content_type"])
            mismatches.Add($"{where}: Content-Type {response.Content.Headers.ContentType}, expected {line["response_content_type"]}");
        else if (!bytes.AsSpan().SequenceEqual(_uploaded.GetValueOrDefault(path)) || bytes.Length != RecordedBytes(line["response"]!).Length)
            mismatches.Add($"{where}: downloaded {bytes.Length} bytes '{Encoding.UTF8.GetString(bytes)}', not what was uploaded");
    }

    /// <summary>
    /// A non-JSON body as the recorder kept it: <c>{"_bytes": N}</c> (N bytes of filler), or the JSON it parsed the
    /// file as, written back the way Python's <c>json.dumps</c> wrote it (<c>{"acc": 0.9}</c>, 12 bytes).
    /// </summary>
    private static byte[] RecordedBytes(JsonNode body) =>
        body is JsonObject o && o.Count == 1 && o["_bytes"] is JsonValue n
            ? Enumerable.Range(0, (int)n).Select(i => (byte)('a' + i % 26)).ToArray()
            : Encoding.UTF8.GetBytes(PythonJson(body));

    private static string PythonJson(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(", ", o.Select(kv => $"{JsonValue.Create(kv.Key).ToJsonString()}: {PythonJson(kv.Value)}")) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(PythonJson)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    /// <summary>
    /// The recorded answer, except where the wire README says Tracker must do better than the reference: a malformed
    /// body gets 400 (not an HTML 500), a non-numeric metric value is rejected (not accepted), and an unknown route
    /// answers MLflow-shaped JSON (not an HTML page).
    /// </summary>
    private (int Status, JsonNode? Body) Expected(JsonObject line)
    {
        var request = line["request"];
        if (request is JsonObject b && b.ContainsKey("_bytes") && (string)line["method"]! != "PUT")
            return (400, new JsonObject { ["error_code"] = "INVALID_PARAMETER_VALUE", ["message"] = "" });
        if (request?.ToJsonString().Contains("\"not-a-number\"", StringComparison.Ordinal) == true)
        {
            foreach (var metric in request["metrics"]?.AsArray() ?? []) _rejectedMetricKeys.Add((string)metric!["key"]!);
            return (400, new JsonObject { ["error_code"] = "INVALID_PARAMETER_VALUE", ["message"] = "" });
        }
        if ((string?)line["response_content_type"] is { } type && type.StartsWith("text/html", StringComparison.Ordinal) && (int)line["status"]! == 404)
            return (404, new JsonObject { ["error_code"] = "ENDPOINT_NOT_FOUND", ["message"] = "" });
        return ((int)line["status"]!, line["response"]);
    }

    private void LearnIds(string path, JsonNode? recorded, JsonNode? ours)
    {
        if (path.EndsWith("experiments/create", StringComparison.Ordinal) && recorded?["experiment_id"] is { } rid && ours?["experiment_id"] is { } oid)
            _experimentIds[(string)rid!] = (string)oid!;
        if (path.EndsWith("runs/create", StringComparison.Ordinal) && recorded?["run"]?["info"]?["run_id"] is { } rr && ours?["run"]?["info"]?["run_id"] is { } or)
            _runIds[(string)rr!] = (string)or!;
        if (recorded?["next_page_token"] is JsonValue rt && ours?["next_page_token"] is JsonValue ot)
            _pageTokens[(string)rt!] = (string)ot!;
    }

    /// <summary>A recorded page token replaced by the one Tracker handed out at the same point of the scenario.</summary>
    private string MapPageToken(string token) =>
        _pageTokens.TryGetValue(token, out var ours) ? ours : throw new InvalidOperationException($"page token {token} was never handed out");

    [GeneratedRegex("[0-9a-f]{32}")]
    private static partial Regex RunIdPattern();

    private string MapText(string text) => RunIdPattern().Replace(text, m => _runIds.GetValueOrDefault(m.Value, m.Value));

    private string MapExperiment(string id) => _experimentIds.GetValueOrDefault(id, id);

    [GeneratedRegex("(?<=^|/)([0-9]+)/([0-9a-f]{32})(?=/|$)")]
    private static partial Regex ArtifactDirPattern();

    /// <summary>An artifact proxy path (<c>&lt;experiment_id&gt;/&lt;run_id&gt;/artifacts/…</c>) with both ids mapped.</summary>
    private string MapArtifactPath(string path) =>
        ArtifactDirPattern().Replace(path, m => $"{MapExperiment(m.Groups[1].Value)}/{MapText(m.Groups[2].Value)}");

    private string MapQuery(string query)
    {
        if (query.Length == 0) return query;
        var pairs = QueryHelpers.ParseQuery("?" + query)
            .SelectMany(kv => kv.Value.Select(v => (kv.Key, Value: kv.Key switch
            {
                "experiment_id" => MapExperiment(v!),
                "page_token" => MapPageToken(v!),
                "path" => MapText(MapArtifactPath(v!)),
                _ => MapText(v!),
            })));
        return string.Join("&", pairs.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
    }

    private JsonNode MapRequest(JsonNode node, string? field = null) => node switch
    {
        JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? null : (JsonNode?)MapRequest(kv.Value, kv.Key)))),
        JsonArray a => new JsonArray(a.Select(i => i is null ? null : (JsonNode?)MapRequest(i, field)).ToArray()),
        JsonValue v when v.TryGetValue<string>(out var s) => JsonValue.Create(field switch
        {
            "experiment_id" or "experiment_ids" => MapExperiment(s),
            "page_token" => MapPageToken(s),
            _ => MapText(s),
        }),
        _ => node.DeepClone(),
    };

    /// <summary>Same shape and JSON types; same values except ids (mapped), server times and page tokens.</summary>
    private void Compare(JsonNode? expected, JsonNode? actual, string where, bool stateDependent, List<string> mismatches, string at = "$")
    {
        switch (expected)
        {
            case null:
                return;
            case JsonObject e:
                if (actual is not JsonObject a)
                {
                    mismatches.Add($"{where}: {at} should be an object, got {actual?.ToJsonString() ?? "nothing"}");
                    return;
                }
                foreach (var (key, value) in e)
                {
                    if (key == "message") continue;
                    if (!a.ContainsKey(key))
                    {
                        // A search's next page depends on what else the recording server held before the scenario ran.
                        if (!(key == "next_page_token" && stateDependent)) mismatches.Add($"{where}: {at}.{key} is missing");
                        continue;
                    }
                    if (key is "next_page_token" || ServerTimes.Contains(key))
                        SameKind(value, a[key], $"{at}.{key}", where, mismatches);
                    else if (key is "experiment_id" && value is JsonValue && !stateDependent)
                        SameValue(MapExperiment((string)value!), a[key], $"{at}.{key}", where, mismatches);
                    else if (key is "artifact_location" or "artifact_uri" && !stateDependent)
                        SameValue(MapArtifactUri((string)value!), a[key], $"{at}.{key}", where, mismatches);
                    else
                        Compare(value, a[key], where, stateDependent, mismatches, $"{at}.{key}");
                }
                return;
            case JsonArray recorded:
                var items = at.EndsWith(".metrics", StringComparison.Ordinal)
                    ? new JsonArray(recorded.Where(m => !_rejectedMetricKeys.Contains((string?)m?["key"] ?? "")).Select(m => m?.DeepClone()).ToArray())
                    : recorded;
                if (actual is not JsonArray arr)
                {
                    mismatches.Add($"{where}: {at} should be an array");
                    return;
                }
                if (!stateDependent && arr.Count != items.Count)
                {
                    mismatches.Add($"{where}: {at} has {arr.Count} items, expected {items.Count}: {arr.ToJsonString()[..Math.Min(300, arr.ToJsonString().Length)]}");
                    return;
                }
                for (var i = 0; i < Math.Min(items.Count, arr.Count); i++)
                    Compare(items[i], arr[i], where, stateDependent, mismatches, $"{at}[{i}]");
                return;
            default:
                if (stateDependent) SameKind(expected, actual, at, where, mismatches);
                else if (expected.GetValueKind() == System.Text.Json.JsonValueKind.String)
                    SameValue(MapText((string)expected!), actual, at, where, mismatches);
                else
                    SameValue(expected, actual, at, where, mismatches);
                return;
        }
    }

    private string MapArtifactUri(string uri)
    {
        var m = Regex.Match(uri, "^mlflow-artifacts:/(\\d+)(/.*)?$");
        // A model version's runs:/ location (get-download-uri) names a run of the recording.
        return m.Success ? $"mlflow-artifacts:/{MapExperiment(m.Groups[1].Value)}{MapText(m.Groups[2].Value)}" : MapText(uri);
    }

    private static void SameKind(JsonNode? expected, JsonNode? actual, string at, string where, List<string> mismatches)
    {
        if (expected?.GetValueKind() != actual?.GetValueKind())
            mismatches.Add($"{where}: {at} is {actual?.GetValueKind()}, expected {expected?.GetValueKind()}");
    }

    private static void SameValue(JsonNode? expected, JsonNode? actual, string at, string where, List<string> mismatches)
    {
        SameKind(expected, actual, at, where, mismatches);
        var equal = expected?.GetValueKind() == System.Text.Json.JsonValueKind.Number && actual?.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? expected.GetValue<double>() == actual.GetValue<double>()
            : JsonNode.DeepEquals(expected, actual);
        if (!equal) mismatches.Add($"{where}: {at} is {actual?.ToJsonString()}, expected {expected?.ToJsonString()}");
    }

    private static void SameValue(string expected, JsonNode? actual, string at, string where, List<string> mismatches) =>
        SameValue(JsonValue.Create(expected), actual, at, where, mismatches);
}
