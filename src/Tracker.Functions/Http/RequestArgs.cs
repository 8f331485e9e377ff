using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Tracker.Core;

namespace Tracker.Functions.Http;

/// <summary>
/// The arguments of one MLflow request, read the way MLflow's server reads them (spec §1.2): GET arguments, and those of
/// a DELETE without a body, from the query string (repeated keys are lists), every other method from a JSON body in
/// proto-JSON (snake_case, lowerCamelCase accepted, int64 as number or string, doubles also as "NaN"/"Infinity", enums as
/// names or numbers).
/// Whatever could be read two ways is refused as ambiguous (400), so that a permission check and a handler reading the
/// same arguments can never see different ids (security baseline §1.6): a key repeated in a JSON body at any depth,
/// both spellings of one field, <c>run_id</c> and a different <c>run_uuid</c>, and a scalar query key given twice
/// (only list parameters, read with <see cref="StringList"/>, may repeat).
/// </summary>
public sealed class RequestArgs
{
    /// <summary>
    /// The largest JSON body an RPC takes. A run's or experiment's metadata is at most 704 KiB once stored (see
    /// DocumentColumns); this leaves room for clients that write non-ASCII text as \uXXXX, as Python's json does. A
    /// bigger body is refused before it is read, which keeps a request's memory to a few MB (the body once, its strings).
    /// </summary>
    public const int MaxBodyBytes = 2 * 1024 * 1024;
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    private readonly JsonElement _object;
    private readonly IQueryCollection? _query;
    private readonly string _path;

    private RequestArgs(JsonElement obj, IQueryCollection? query, string path)
    {
        _object = obj;
        _query = query;
        _path = path;
    }

    /// <summary>
    /// Binds a handler's <c>RequestArgs</c> parameter: the request is parsed once, by whoever asks first (the permission
    /// check reads the ids it authorises from the same instance the handler then executes with).
    /// </summary>
    public static async ValueTask<RequestArgs?> BindAsync(HttpContext context) => await ForRequestAsync(context);

    /// <summary>This request's arguments, parsed on first use under the endpoint's <see cref="BodyLimit"/>.</summary>
    public static async ValueTask<RequestArgs> ForRequestAsync(HttpContext context)
    {
        if (context.Features.Get<RequestArgs>() is { } parsed) return parsed;
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<BodyLimit>();
        var args = await ReadAsync(context.Request, context.RequestAborted, limit?.Bytes ?? MaxBodyBytes, limit?.TooLarge ?? TooLarge);
        context.Features.Set(args);
        return args;
    }

    /// <summary>The query-string arguments of a request whose body is no JSON (the UI's raw upload), read by the same rules.</summary>
    public static RequestArgs FromQuery(HttpRequest request) => new(default, request.Query, "");

    public static Task<RequestArgs> ReadAsync(HttpRequest request, CancellationToken ct) =>
        ReadAsync(request, ct, MaxBodyBytes, TooLarge);

    /// <param name="maxBodyBytes">This route's body limit; a longer body is never read in full.</param>
    /// <param name="tooLarge">The error for a body over it, given its size (as far as it was read when it has no Content-Length).</param>
    public static async Task<RequestArgs> ReadAsync(HttpRequest request, CancellationToken ct, int maxBodyBytes, Func<long, MlflowException> tooLarge)
    {
        if (HttpMethods.IsGet(request.Method)) return new RequestArgs(default, request.Query, "");

        if (request.ContentLength > maxBodyBytes)
        {
            LetTheServerDrain(request);
            throw tooLarge(request.ContentLength.Value);
        }
        var body = await PooledBody.ReadAsync(request, maxBodyBytes, tooLarge, ct);
        if (body.Length == 0)
        {
            if (HttpMethods.IsPost(request.Method)) RequireJsonContentType(request);
            // A DELETE without a body names its arguments in the query, as MLflow's auth API reads them
            // (auth/__init__.py, _get_request_param: the JSON body if there is one, else the query).
            if (HttpMethods.IsDelete(request.Method)) return new RequestArgs(default, request.Query, "");
            return new RequestArgs(body.Parse("{}"u8.ToArray()), null, "");
        }
        RequireJsonContentType(request);
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
            throw MlflowException.InvalidParameter("The request body is not valid UTF-8.");
        JsonElement root;
        try
        {
            root = body.Parse(body.Memory);
            // Old clients double-encoded the body; MLflow parses a JSON string body once more.
            if (root.ValueKind == JsonValueKind.String) root = body.Parse(System.Text.Encoding.UTF8.GetBytes(root.GetString()!));
        }
        catch (JsonException e)
        {
            // A repeated key lands here too ("Duplicate property 'run_id' ..."), its name cut like any echoed input.
            throw MlflowException.InvalidParameter($"Malformed JSON request body: {Echo.Truncate(e.Message)}");
        }
        catch (InvalidOperationException)
        {
            throw MlflowException.InvalidParameter("Malformed JSON request body: a string escape is not valid Unicode (an unpaired surrogate).");
        }
        if (root.ValueKind != JsonValueKind.Object)
            throw MlflowException.InvalidParameter("The request body must be a JSON object.");
        return new RequestArgs(root, null, "");
    }

    /// <summary>
    /// A body refused by its Content-Length is never read; the server then reads and discards the rest (for at most a
    /// few seconds) so the client, still sending, gets the JSON error instead of a reset connection, which MLflow's
    /// client would take for an outage and retry. Without this, Kestrel's own body limit would cut the connection.
    /// </summary>
    private static void LetTheServerDrain(HttpRequest request)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = MaxDrainedBytes;
    }

    private const long MaxDrainedBytes = 64L * 1024 * 1024;

    private static MlflowException TooLarge(long size) =>
        new(ErrorCode.PayloadTooLarge,
            $"Request body exceeds {MaxBodyBytes} bytes (got {size}).");

    /// <summary>State-changing requests carry JSON (security-baseline §1.5): a text/plain CSRF POST changes nothing.</summary>
    private static void RequireJsonContentType(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ||
            !string.Equals(type.MediaType, "application/json", StringComparison.OrdinalIgnoreCase))
            throw MlflowException.InvalidParameter(
                $"Bad Request. Content-Type must be 'application/json', got '{Echo.Truncate(request.ContentType)}'.");
    }

    /// <summary>
    /// The body, read once into a pooled buffer that the parsed document points into; both go back when the response
    /// has been sent, since the request's strings and elements are used until then.
    /// </summary>
    private sealed class PooledBody : IDisposable
    {
        private byte[] _buffer = [];
        private readonly List<JsonDocument> _documents = [];

        public int Length { get; private set; }
        public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);
        public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

        public static async Task<PooledBody> ReadAsync(HttpRequest request, int maxBodyBytes, Func<long, MlflowException> tooLarge, CancellationToken ct)
        {
            var body = new PooledBody();
            request.HttpContext.Response.RegisterForDispose(body);
            body._buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min((request.ContentLength ?? 16 * 1024) + 1, maxBodyBytes + 1L));
            int read;
            // Never more than one byte past the limit, so an oversized body is known without reading it.
            while ((read = await request.Body.ReadAsync(body._buffer.AsMemory(body.Length, Math.Min(body._buffer.Length, maxBodyBytes + 1) - body.Length), ct)) > 0)
            {
                body.Length += read;
                if (body.Length > maxBodyBytes) throw tooLarge(body.Length);
                if (body.Length == body._buffer.Length) body.Grow(maxBodyBytes + 1);
            }
            return body;
        }

        private void Grow(int limit)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(_buffer.Length * 2L, limit));
            Span.CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        public JsonElement Parse(ReadOnlyMemory<byte> json)
        {
            var document = JsonDocument.Parse(json, JsonOptions);
            _documents.Add(document);
            return document.RootElement;
        }

        public void Dispose()
        {
            foreach (var document in _documents) document.Dispose();
            _documents.Clear();
            if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private string Qualified(string name) => _path + name;

    /// <summary>The field name as MLflow reports it in errors, e.g. <c>metrics[0].timestamp</c>.</summary>
    public string Qualify(string name) => Qualified(name);

    /// <summary>The JSON value under a field, by its snake_case name or its lowerCamelCase form.</summary>
    private JsonElement? Field(string name)
    {
        if (_object.ValueKind != JsonValueKind.Object) return null;
        var found = _object.TryGetProperty(name, out var snake) ? snake : (JsonElement?)null;
        var camel = ToCamel(name);
        if (camel != name && _object.TryGetProperty(camel, out var camelValue))
        {
            // Both spellings could be authorised under one and executed under the other. No MLflow client sends both
            // (Python writes snake_case, Java lowerCamelCase), so even equal values are refused rather than compared.
            if (found is not null)
                throw MlflowException.InvalidParameter($"Ambiguous request: both '{Qualified(name)}' and '{Qualified(camel)}' are given; send one.");
            found = camelValue;
        }
        return found is { ValueKind: not JsonValueKind.Null } value ? value : null;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> CamelNames = new(StringComparer.Ordinal);

    private static string ToCamel(string name) => name.Contains('_') ? CamelNames.GetOrAdd(name, CamelCase) : name;

    private static string CamelCase(string name)
    {
        var parts = name.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    private StringValues QueryValues(string name) => _query!.TryGetValue(name, out var v) ? v : StringValues.Empty;

    public bool Has(string name) => _query is not null ? QueryValues(name).Count > 0 : Field(name) is not null;

    public string? String(string name)
    {
        if (_query is not null)
        {
            var values = QueryValues(name);
            if (values.Count > 1)
                throw MlflowException.InvalidParameter(
                    $"Ambiguous request: the query string gives '{name}' {values.Count} times; it takes one value.");
            return values.Count == 0 ? null : values[0];
        }
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } s => Text(name, s),
            { ValueKind: JsonValueKind.Number } n when IsExperimentId(name) => n.GetRawText(),
            { } other => throw InvalidType(name, other),
        };
    }

    /// <summary>A JSON string's value; an escape that is no valid UTF-16 (an unpaired surrogate, <c>"\ud800"</c>) is a 400.</summary>
    private string Text(string name, JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw MlflowException.InvalidParameter(
                $"Invalid value for parameter '{Qualified(name)}' supplied: a string escape is not valid Unicode (an unpaired surrogate).");
        }
    }

    /// <summary>
    /// Experiment ids were integers before MLflow 0.9, and MLflow still stringifies numeric <c>experiment_id(s)</c>
    /// before parsing (proto_json_utils._stringify_all_experiment_ids). Any other string field given a number is
    /// MLflow's 400, e.g. <c>{"run_id": 31}</c>.
    /// </summary>
    private static bool IsExperimentId(string name) => name is "experiment_id" or "experiment_ids";

    /// <summary>MLflow's required check: missing, null and "" are all missing.</summary>
    public string RequiredString(string name) =>
        String(name) is { Length: > 0 } value ? value : throw MlflowException.MissingParameter(Qualified(name));

    /// <summary>run_id, falling back to the deprecated run_uuid as MLflow does. MLflow's client sends both, equal; two
    /// different ones are refused, so no reader (a permission check) can take one while the handler takes the other.</summary>
    public string RunId()
    {
        var runId = String("run_id");
        var uuid = String("run_uuid");
        if (!string.IsNullOrEmpty(runId))
        {
            if (!string.IsNullOrEmpty(uuid) && !string.Equals(runId, uuid, StringComparison.Ordinal))
                throw MlflowException.InvalidParameter(
                    $"Ambiguous request: '{Qualified("run_id")}' and '{Qualified("run_uuid")}' name different runs; send one, or both equal.");
            return runId;
        }
        return uuid is { Length: > 0 } ? uuid : throw MlflowException.MissingParameter(Qualified("run_id"));
    }

    public long? Int64(string name)
    {
        if (_query is not null) return String(name) is { } s ? ParseInt64(name, s) : null;
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } n when n.TryGetInt64(out var v) => v,
            { ValueKind: JsonValueKind.String } s => ParseInt64(name, Text(name, s)),
            { } other => throw InvalidType(name, other),
        };
    }

    public int? Int32(string name)
    {
        var value = Int64(name);
        if (value is null) return null;
        return value is >= int.MinValue and <= int.MaxValue
            ? (int)value.Value
            : throw InvalidValue(name, value.Value.ToString(CultureInfo.InvariantCulture), "int");
    }

    private long ParseInt64(string name, string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw InvalidString(name, text);

    public double? Double(string name)
    {
        if (_query is not null) return String(name) is { } q ? ParseDouble(name, q) : null;
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } n => n.GetDouble(),
            { ValueKind: JsonValueKind.String } s => ParseDouble(name, Text(name, s)),
            { } other => throw InvalidType(name, other),
        };
    }

    private double ParseDouble(string name, string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) => v,
        _ => throw InvalidString(name, text),
    };

    public bool? Bool(string name)
    {
        if (_query is not null)
        {
            return String(name)?.ToLowerInvariant() switch
            {
                null => null,
                "true" => true,
                "false" => false,
                _ => throw InvalidString(name, String(name)!),
            };
        }
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            { } other => throw InvalidType(name, other),
        };
    }

    /// <summary>A repeated string field. Through the Functions host's forwarding mode repeated query keys arrive
    /// comma-joined, so id lists (ids never contain commas) are split again.</summary>
    public IReadOnlyList<string> StringList(string name, bool idList = false)
    {
        if (_query is not null)
        {
            var values = QueryValues(name).Where(v => v is not null).Select(v => v!);
            return (idList ? values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) : values).ToList();
        }
        return Field(name) switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } array => array.EnumerateArray().Select((item, i) => item.ValueKind switch
            {
                JsonValueKind.String => Text($"{name}[{i}]", item),
                JsonValueKind.Number when IsExperimentId(name) => item.GetRawText(),
                _ => throw InvalidType($"{name}[{i}]", item),
            }).ToList(),
            // a single value where a list is expected: proto-JSON would reject it, but a list of one is what was meant
            { ValueKind: JsonValueKind.String } one => [Text(name, one)],
            { } other => throw InvalidType(name, other),
        };
    }

    /// <summary>A repeated message field (tags, metrics, ...), each element readable with the same rules.</summary>
    public IReadOnlyList<RequestArgs> Objects(string name)
    {
        if (_query is not null) return [];
        return Field(name) switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } array => array.EnumerateArray().Select((item, i) => item.ValueKind == JsonValueKind.Object
                ? new RequestArgs(item, null, $"{_path}{name}[{i}].")
                : throw InvalidType($"{name}[{i}]", item)).ToList(),
            { } other => throw InvalidType(name, other),
        };
    }

    /// <summary>A single nested message field.</summary>
    public RequestArgs? Object(string name) => Field(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } obj => new RequestArgs(obj, null, $"{_path}{name}."),
        { } other => throw InvalidType(name, other),
    };

    /// <summary>The raw JSON of a field (for fields MLflow keeps as JSON, such as log-model's model_json payload).</summary>
    public JsonElement? Raw(string name) => Field(name);

    private MlflowException InvalidType(string name, JsonElement value) => InvalidValue(name, PythonJson.Format(value), PythonType(value));

    private MlflowException InvalidString(string name, string text) => InvalidValue(name, PythonJson.Format(text), "str");

    /// <summary>
    /// MLflow's message for a value of the wrong type (handlers._validate_param_against_schema with
    /// validation.invalid_value): the value as <c>json.dumps(value, sort_keys=True, separators=(",", ":"))</c>,
    /// cut to a short prefix, and its Python type.
    /// </summary>
    private MlflowException InvalidValue(string name, string formatted, string pythonType) =>
        MlflowException.InvalidParameter(
            $"Invalid value {Echo.Truncate(formatted)} for parameter '{Qualified(name)}' supplied:  Hint: Value was of type '{pythonType}'. See the API docs for more information about request parameters.");

    private static string PythonType(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "str",
        // Python's json reads any literal without a fraction or exponent as an int, however large.
        JsonValueKind.Number => value.GetRawText().AsSpan().IndexOfAny('.', 'e', 'E') >= 0 ? "float" : "int",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Array => "list",
        JsonValueKind.Object => "dict",
        _ => "NoneType",
    };
}
