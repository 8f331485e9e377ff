using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using Tracker.Core;

namespace Tracker.Functions.Http;

/// <summary>
/// The arguments of one MLflow request, read the way MLflow's server reads them (spec §1.2): GET arguments from the
/// query string (repeated keys are lists), every other method from a JSON body in proto-JSON (snake_case, lowerCamelCase
/// accepted, int64 as number or string, doubles also as "NaN"/"Infinity", enums as names or numbers).
/// </summary>
public sealed class RequestArgs
{
    public const int MaxBodyBytes = 20 * 1024 * 1024;
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 32 };

    private readonly JsonElement _object;
    private readonly IQueryCollection? _query;
    private readonly string _path;

    private RequestArgs(JsonElement obj, IQueryCollection? query, string path)
    {
        _object = obj;
        _query = query;
        _path = path;
    }

    public static Task<RequestArgs> ReadAsync(HttpRequest request, CancellationToken ct, int maxBodyBytes, Func<long, MlflowException> tooLarge) =>
        ReadAsync(request, ct);

    public static async Task<RequestArgs> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (HttpMethods.IsGet(request.Method)) return new RequestArgs(default, request.Query, "");

        var body = await ReadBodyAsync(request, ct);
        if (body.Length == 0)
        {
            if (HttpMethods.IsPost(request.Method)) RequireJsonContentType(request);
            return new RequestArgs(JsonDocument.Parse("{}").RootElement, null, "");
        }
        RequireJsonContentType(request);
        if (!System.Text.Unicode.Utf8.IsValid(body))
            throw MlflowException.InvalidParameter("The request body is not valid UTF-8.");
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(body, JsonOptions).RootElement;
            // Old clients double-encoded the body; MLflow parses a JSON string body once more.
            if (root.ValueKind == JsonValueKind.String) root = JsonDocument.Parse(root.GetString()!, JsonOptions).RootElement;
        }
        catch (JsonException e)
        {
            throw MlflowException.InvalidParameter($"Malformed JSON request body: {e.Message}");
        }
        if (root.ValueKind != JsonValueKind.Object)
            throw MlflowException.InvalidParameter("The request body must be a JSON object.");
        return new RequestArgs(root, null, "");
    }

    /// <summary>State-changing requests carry JSON (security-baseline §1.5): a text/plain CSRF POST changes nothing.</summary>
    private static void RequireJsonContentType(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ||
            !string.Equals(type.MediaType, "application/json", StringComparison.OrdinalIgnoreCase))
            throw MlflowException.InvalidParameter(
                $"Bad Request. Content-Type must be 'application/json', got '{request.ContentType}'.");
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodyBytes) throw TooLarge();
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes) throw TooLarge();
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();

        static MlflowException TooLarge() =>
            new(new ErrorCode("INVALID_PARAMETER_VALUE", StatusCodes.Status413PayloadTooLarge), $"Request body exceeds {MaxBodyBytes} bytes.");
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
            // Both spellings with different values could be authorised under one and executed under the other.
            if (found is { } s && s.GetRawText() != camelValue.GetRawText())
                throw MlflowException.InvalidParameter($"Ambiguous request: both '{name}' and '{camel}' are given with different values.");
            found ??= camelValue;
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
            return values.Count == 0 ? null : values[^1];
        }
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } s => s.GetString(),
            // experiment ids from pre-0.9 clients, and numeric ids in general, may come as numbers
            { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
            { } other => throw InvalidType(name, other),
        };
    }

    /// <summary>MLflow's required check: missing, null and "" are all missing.</summary>
    public string RequiredString(string name) =>
        String(name) is { Length: > 0 } value ? value : throw MlflowException.MissingParameter(Qualified(name));

    /// <summary>run_id, falling back to the deprecated run_uuid as MLflow does.</summary>
    public string RunId()
    {
        var runId = String("run_id");
        if (!string.IsNullOrEmpty(runId)) return runId;
        return String("run_uuid") is { Length: > 0 } uuid ? uuid : throw MlflowException.MissingParameter(Qualified("run_id"));
    }

    public long? Int64(string name)
    {
        if (_query is not null) return String(name) is { } s ? ParseInt64(name, s) : null;
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } n when n.TryGetInt64(out var v) => v,
            { ValueKind: JsonValueKind.String } s => ParseInt64(name, s.GetString()!),
            { } other => throw InvalidType(name, other),
        };
    }

    public int? Int32(string name)
    {
        var value = Int64(name);
        if (value is null) return null;
        return value is >= int.MinValue and <= int.MaxValue
            ? (int)value.Value
            : throw MlflowException.InvalidParameter($"Invalid value {value} for parameter '{Qualified(name)}' supplied: out of range for int32.");
    }

    private long ParseInt64(string name, string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw MlflowException.InvalidParameter(
                $"Invalid value {JsonSerializer.Serialize(text)} for parameter '{Qualified(name)}' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters.");

    public double? Double(string name)
    {
        if (_query is not null) return String(name) is { } q ? ParseDouble(name, q) : null;
        return Field(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } n => n.GetDouble(),
            { ValueKind: JsonValueKind.String } s => ParseDouble(name, s.GetString()!),
            { } other => throw InvalidType(name, other),
        };
    }

    private double ParseDouble(string name, string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) => v,
        _ => throw MlflowException.InvalidParameter(
            $"Invalid value {JsonSerializer.Serialize(text)} for parameter '{Qualified(name)}' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters."),
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
                var other => throw MlflowException.InvalidParameter(
                    $"Invalid value {JsonSerializer.Serialize(other)} for parameter '{Qualified(name)}' supplied. Hint: Value was of type 'str'. See the API docs for more information about request parameters."),
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
                JsonValueKind.String => item.GetString()!,
                JsonValueKind.Number => item.GetRawText(),
                _ => throw InvalidType($"{name}[{i}]", item),
            }).ToList(),
            // a single value where a list is expected: proto-JSON would reject it, but a list of one is what was meant
            { ValueKind: JsonValueKind.String } one => [one.GetString()!],
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

    private MlflowException InvalidType(string name, JsonElement value) =>
        MlflowException.InvalidParameter(
            $"Invalid value {value.GetRawText()} for parameter '{Qualified(name)}' supplied. Hint: Value was of type '{PythonType(value)}'. See the API docs for more information about request parameters.");

    private static string PythonType(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "str",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "int" : "float",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Array => "list",
        JsonValueKind.Object => "dict",
        _ => "NoneType",
    };
}
