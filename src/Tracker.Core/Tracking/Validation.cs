using System.Text.RegularExpressions;

namespace Tracker.Core.Tracking;

/// <summary>MLflow's validation rules and messages (mlflow/utils/validation.py), so clients see the same errors.</summary>
public static partial class Validation
{
    public const int MaxEntityKeyLength = 250;
    public const int MaxParamValueLength = 6000;
    public const int MaxTagValueLength = 8000;
    public const int MaxExperimentTagValueLength = 5000;
    public const int MaxExperimentNameLength = 500;
    public const int MaxArtifactLocationLength = 2048;
    public const int MaxMetricsPerBatch = 1000;
    public const int MaxParamsPerBatch = 100;
    public const int MaxTagsPerBatch = 100;
    public const int MaxEntitiesPerBatch = 1000;
    public const int MaxDatasetNameLength = 500;
    public const int MaxDatasetDigestLength = 36;
    public const int MaxDatasetSourceLength = 65535;
    public const int MaxDatasetSchemaLength = 1048575;
    public const int MaxDatasetProfileLength = 16777215;
    public const int MaxInputTagKeyLength = 255;
    public const int MaxInputTagValueLength = 500;

    [GeneratedRegex(@"^[/\w.\- :]*$")]
    private static partial Regex KeyCharset();

    [GeneratedRegex(@"^[a-zA-Z0-9][\w\-]{0,255}$")]
    private static partial Regex RunIdPattern();

    public static void MetricName(string key) => EntityKey(key, "Invalid metric name");
    public static void ParamName(string key) => EntityKey(key, "Invalid parameter name");
    public static void TagName(string key) => EntityKey(key, "Invalid tag name");

    private static void EntityKey(string key, string invalid)
    {
        if (!KeyCharset().IsMatch(key))
            throw MlflowException.InvalidParameter(
                $"{invalid}: '{Echo.Truncate(key)}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).");
        var normalized = PosixNormalize(key);
        if (normalized != key || normalized == "." || normalized.StartsWith("..", StringComparison.Ordinal) || normalized.StartsWith('/'))
            throw MlflowException.InvalidParameter(
                $"{invalid}: '{Echo.Truncate(key)}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '{Echo.Truncate(normalized)}'");
    }

    /// <summary>Python's posixpath.normpath, which MLflow uses to reject keys that "resolve to other names".</summary>
    public static string PosixNormalize(string path)
    {
        if (path.Length == 0) return ".";
        var initialSlashes = path.StartsWith('/') ? (path.StartsWith("//", StringComparison.Ordinal) && !path.StartsWith("///", StringComparison.Ordinal) ? 2 : 1) : 0;
        var parts = new List<string>();
        foreach (var comp in path.Split('/'))
        {
            if (comp.Length == 0 || comp == ".") continue;
            if (comp != ".." || (initialSlashes == 0 && parts.Count == 0) || (parts.Count > 0 && parts[^1] == ".."))
                parts.Add(comp);
            else if (parts.Count > 0)
                parts.RemoveAt(parts.Count - 1);
        }
        var result = new string('/', initialSlashes) + string.Join('/', parts);
        return result.Length == 0 ? "." : result;
    }

    public static void LengthLimit(string entityName, int limit, string value)
    {
        if (value.Length > limit)
            throw MlflowException.InvalidParameter(
                $"{entityName} '{Echo.Truncate(value)}' had length {value.Length}, which exceeded length limit of {limit}");
    }

    public static void Param(string key, string value)
    {
        ParamName(key);
        LengthLimit("Param key", MaxEntityKeyLength, key);
        LengthLimit("Param value", MaxParamValueLength, value);
    }

    public static void RunTag(string key, string value)
    {
        TagName(key);
        LengthLimit("Tag key", MaxEntityKeyLength, key);
        LengthLimit("Tag value", MaxTagValueLength, value);
    }

    public static void ExperimentTag(string key, string value)
    {
        TagName(key);
        LengthLimit("Tag key", MaxEntityKeyLength, key);
        LengthLimit("Tag value", MaxExperimentTagValueLength, value);
    }

    public static void Metric(Metric metric)
    {
        MetricName(metric.Key);
        LengthLimit("Metric name", MaxEntityKeyLength, metric.Key);
        if (metric.Timestamp < 0)
            throw MlflowException.InvalidParameter(
                $"Got invalid timestamp {metric.Timestamp} for metric '{Echo.Truncate(metric.Key)}' (value={metric.Value}). Timestamp must be a nonnegative long (64-bit integer) ");
    }

    public static void ExperimentName(string? name)
    {
        if (string.IsNullOrEmpty(name)) throw MlflowException.MissingParameter("name");
        if (name.Length > MaxExperimentNameLength)
            throw MlflowException.InvalidParameter(
                $"Experiment name exceeds the maximum length of {MaxExperimentNameLength} characters");
    }

    public static void RunId(string runId)
    {
        if (!RunIdPattern().IsMatch(runId))
            throw MlflowException.InvalidParameter($"Invalid run ID: '{Echo.Truncate(runId)}'");
    }

    public static void BatchLimits(int metrics, int @params, int tags)
    {
        Limit(metrics, MaxMetricsPerBatch, "metrics");
        Limit(@params, MaxParamsPerBatch, "params");
        Limit(tags, MaxTagsPerBatch, "tags");
        var total = metrics + @params + tags;
        if (total > MaxEntitiesPerBatch)
            throw MlflowException.InvalidParameter(
                $"A batch logging request can contain at most {MaxEntitiesPerBatch} metrics, params, and tags. Got {total} metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.");

        static void Limit(int count, int max, string what)
        {
            if (count > max)
                throw MlflowException.InvalidParameter(
                    $"A batch logging request can contain at most {max} {what}. Got {count} {what}. Please split up {what} across multiple requests and try again.");
        }
    }

    /// <summary>
    /// MLflow's MAX_BATCH_LOG_REQUEST_SIZE and message (validation._validate_batch_log_api_req), applied to the body's
    /// bytes. MLflow's own server measures <c>len()</c> of the parsed dict, its key count, so it never trips there; its
    /// clients split batches into at most 1000 metrics and 100 params and 100 tags, which at typical lengths stays far
    /// below this.
    /// </summary>
    public const int MaxBatchLogRequestBytes = 1_000_000;

    public static MlflowException BatchRequestTooLarge(long size) => MlflowException.InvalidParameter(
        $"Batched logging API requests must be at most {MaxBatchLogRequestBytes} bytes, got a request of size {size}.");

    public static void NoDuplicateParamKeys(IReadOnlyList<KeyValue> @params)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var dupes = new List<string>();
        foreach (var p in @params)
            if (!seen.Add(p.Key) && !dupes.Contains(p.Key)) dupes.Add(p.Key);
        if (dupes.Count > 0)
            throw MlflowException.InvalidParameter(
                $"Duplicate parameter keys have been submitted: [{string.Join(", ", dupes.Select(d => $"'{Echo.Truncate(d)}'"))}]. Please ensure the request contains only one param value per param key.");
    }

    public static void DatasetInput(DatasetInput input)
    {
        var d = input.Dataset;
        LengthLimit("Dataset name", MaxDatasetNameLength, d.Name);
        LengthLimit("Dataset digest", MaxDatasetDigestLength, d.Digest);
        LengthLimit("Dataset source", MaxDatasetSourceLength, d.Source);
        if (d.Schema is not null) LengthLimit("Dataset schema", MaxDatasetSchemaLength, d.Schema);
        if (d.Profile is not null) LengthLimit("Dataset profile", MaxDatasetProfileLength, d.Profile);
        foreach (var tag in input.Tags)
        {
            LengthLimit("Input tag key", MaxInputTagKeyLength, tag.Key);
            LengthLimit("Input tag value", MaxInputTagValueLength, tag.Value);
        }
    }

    /// <summary>
    /// Tracker assigns every experiment's artifact location itself (security-baseline §1.2), so a client-supplied one is
    /// only checked for MLflow's own rules and then ignored.
    /// </summary>
    public static void ArtifactLocation(string? location)
    {
        if (string.IsNullOrEmpty(location)) return;
        if (location.Length > MaxArtifactLocationLength)
            throw MlflowException.InvalidParameter(
                $"Invalid artifact path length. The length of the artifact path cannot be greater than {MaxArtifactLocationLength} characters.");
        if (location.Contains('#') || location.Contains(';'))
            throw MlflowException.InvalidParameter($"'artifact_location' URL can't include fragments or params.");
        var decoded = location;
        for (var i = 0; i < 10; i++)
        {
            var next = Uri.UnescapeDataString(decoded);
            if (next == decoded) break;
            decoded = next;
        }
        var q = decoded.IndexOf('?');
        if (q >= 0 && decoded[q..].Contains("..", StringComparison.Ordinal))
            throw MlflowException.InvalidParameter("Invalid query string");
    }
}
