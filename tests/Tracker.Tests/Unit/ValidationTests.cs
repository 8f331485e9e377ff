using Tracker.Core;
using Tracker.Core.Tracking;

namespace Tracker.Tests.Unit;

public class ValidationTests
{
    private const string CharsetHint =
        "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";

    private static void ValidateKey(string kind, string key)
    {
        switch (kind)
        {
            case "metric": Validation.MetricName(key); break;
            case "param": Validation.ParamName(key); break;
            case "tag": Validation.TagName(key); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    private static string Label(string kind) => kind switch
    {
        "metric" => "Invalid metric name",
        "param" => "Invalid parameter name",
        _ => "Invalid tag name",
    };

    // ---- keys -------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("a/b")]
    [InlineData("with space")]
    [InlineData("k:v")]
    [InlineData("x.y-z_1")]
    [InlineData("größe")]
    [InlineData("日本語")]
    [InlineData("mlflow.runName")]
    [InlineData("train/loss/epoch_1")]
    [InlineData(".hidden")]
    [InlineData("a/.b")]
    [InlineData("a..")]
    [InlineData("a..b")]
    [InlineData(" ")]
    [InlineData("-")]
    [InlineData(":")]
    [InlineData("0")]
    public void LegalKeysPassForEveryEntity(string key)
    {
        Validation.MetricName(key);
        Validation.ParamName(key);
        Validation.TagName(key);
        Validation.Param(key, "v");
        Validation.RunTag(key, "v");
        Validation.ExperimentTag(key, "v");
        Validation.Metric(new Metric(key, 1.0, 0, 0));
    }

    [Theory]
    [InlineData("metric", "a?b")]
    [InlineData("metric", "a#b")]
    [InlineData("metric", "a\\b")]
    [InlineData("metric", "a*b")]
    [InlineData("metric", "a%b")]
    [InlineData("metric", "a\tb")]
    [InlineData("metric", "a,b")]
    [InlineData("metric", "a=b")]
    [InlineData("metric", "a'b")]
    [InlineData("param", "a?b")]
    [InlineData("param", "a(b)")]
    [InlineData("tag", "a#b")]
    [InlineData("tag", "a@b")]
    public void KeysWithIllegalCharactersAreRejectedWithMlflowsMessage(string kind, string key)
    {
        var e = MlflowAssert.Throws(() => ValidateKey(kind, key));
        Assert.Equal($"{Label(kind)}: '{key}'. {CharsetHint}", e.Message);
    }

    [Theory]
    [InlineData("metric", "bad/../key", "key")]
    [InlineData("metric", "a//b", "a/b")]
    [InlineData("metric", "./a", "a")]
    [InlineData("metric", "a/", "a")]
    [InlineData("metric", "/abs", "/abs")]
    [InlineData("metric", "..", "..")]
    [InlineData("metric", ".", ".")]
    [InlineData("metric", "", ".")]
    [InlineData("metric", "a/..", ".")]
    [InlineData("metric", "a/./b", "a/b")]
    [InlineData("metric", "../a", "../a")]
    [InlineData("metric", "..a", "..a")]
    [InlineData("metric", "//a", "//a")]
    [InlineData("param", "bad/../key", "key")]
    [InlineData("param", "a//b", "a/b")]
    [InlineData("param", "", ".")]
    [InlineData("tag", "a/", "a")]
    [InlineData("tag", "/abs", "/abs")]
    public void KeysThatResolveToOtherNamesAreRejectedWithMlflowsMessage(string kind, string key, string resolved)
    {
        var e = MlflowAssert.Throws(() => ValidateKey(kind, key));
        Assert.Equal(
            $"{Label(kind)}: '{key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '{resolved}'",
            e.Message);
    }

    [Fact]
    public void BadPathMessageMatchesMlflowExactly()
    {
        var e = MlflowAssert.Throws(() => Validation.MetricName("bad/../key"));
        Assert.Equal(
            "Invalid metric name: 'bad/../key'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to 'key'",
            e.Message);
    }

    // Expected values are CPython's posixpath.normpath outputs.
    [Theory]
    [InlineData("a/./b", "a/b")]
    [InlineData("a/../b", "b")]
    [InlineData("../a", "../a")]
    [InlineData("//a", "//a")]
    [InlineData("///a", "/a")]
    [InlineData("", ".")]
    [InlineData("/..", "/")]
    [InlineData("a/b/../../..", "..")]
    [InlineData("/a/b/", "/a/b")]
    [InlineData("./", ".")]
    [InlineData("a/..", ".")]
    [InlineData("../../a/../b", "../../b")]
    [InlineData("//a/../..", "//")]
    [InlineData("////", "/")]
    [InlineData("//", "//")]
    [InlineData(".", ".")]
    [InlineData("..", "..")]
    [InlineData("a//b", "a/b")]
    [InlineData("/", "/")]
    [InlineData("x/../../y", "../y")]
    [InlineData("a/b/c", "a/b/c")]
    public void PosixNormalizeMatchesPythonNormpath(string path, string expected) =>
        Assert.Equal(expected, Validation.PosixNormalize(path));

    // ---- lengths ----------------------------------------------------------------------------------------------

    [Fact]
    public void ParamKeyOverTheLimitGetsMlflowsLengthMessage()
    {
        var key = new string('k', 251);
        var e = MlflowAssert.Throws(() => Validation.Param(key, "v"));
        Assert.Equal($"Param key '{key[..250]}' had length 251, which exceeded length limit of 250", e.Message);
    }

    [Theory]
    [InlineData("param-key", 250, true)]
    [InlineData("param-key", 251, false)]
    [InlineData("param-value", 6000, true)]
    [InlineData("param-value", 6001, false)]
    [InlineData("tag-key", 250, true)]
    [InlineData("tag-key", 251, false)]
    [InlineData("tag-value", 8000, true)]
    [InlineData("tag-value", 8001, false)]
    [InlineData("experiment-tag-key", 250, true)]
    [InlineData("experiment-tag-key", 251, false)]
    [InlineData("experiment-tag-value", 5000, true)]
    [InlineData("experiment-tag-value", 5001, false)]
    [InlineData("metric-key", 250, true)]
    [InlineData("metric-key", 251, false)]
    public void LengthLimits(string subject, int length, bool accepted)
    {
        var s = new string('x', length);
        Action validate = subject switch
        {
            "param-key" => () => Validation.Param(s, "v"),
            "param-value" => () => Validation.Param("k", s),
            "tag-key" => () => Validation.RunTag(s, "v"),
            "tag-value" => () => Validation.RunTag("k", s),
            "experiment-tag-key" => () => Validation.ExperimentTag(s, "v"),
            "experiment-tag-value" => () => Validation.ExperimentTag("k", s),
            "metric-key" => () => Validation.Metric(new Metric(s, 1, 0, 0)),
            _ => throw new ArgumentOutOfRangeException(nameof(subject)),
        };
        if (accepted) validate();
        else
        {
            var e = MlflowAssert.Throws(validate);
            Assert.EndsWith($"had length {length}, which exceeded length limit of {length - 1}", e.Message);
        }
    }

    [Theory]
    [InlineData("param", "Param value")]
    [InlineData("tag", "Tag value")]
    [InlineData("experiment-tag", "Tag value")]
    public void ValueLengthMessagesNameTheEntity(string subject, string entity)
    {
        var (limit, validate) = subject switch
        {
            "param" => (6000, (Action<string>)(v => Validation.Param("k", v))),
            "tag" => (8000, v => Validation.RunTag("k", v)),
            _ => (5000, (Action<string>)(v => Validation.ExperimentTag("k", v))),
        };
        var value = new string('v', limit + 1);
        var e = MlflowAssert.Throws(() => validate(value));
        Assert.Equal($"{entity} '{value[..250]}' had length {limit + 1}, which exceeded length limit of {limit}", e.Message);
    }

    [Fact]
    public void MetricNameLengthMessage()
    {
        var key = new string('m', 251);
        var e = MlflowAssert.Throws(() => Validation.Metric(new Metric(key, 1, 0, 0)));
        Assert.Equal($"Metric name '{key[..250]}' had length 251, which exceeded length limit of 250", e.Message);
    }

    // ---- metrics ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(-1L)]
    [InlineData(-1700000000000L)]
    [InlineData(long.MinValue)]
    public void NegativeMetricTimestampIsRejected(long timestamp)
    {
        var e = MlflowAssert.Throws(() => Validation.Metric(new Metric("m", 0.5, timestamp, 0)));
        Assert.StartsWith($"Got invalid timestamp {timestamp} for metric 'm' (value=0.5). Timestamp must be a nonnegative long (64-bit integer)", e.Message);
    }

    [Theory]
    [InlineData(0L, 0L, 1.0)]
    [InlineData(long.MaxValue, 0L, 1.0)]
    [InlineData(1L, -5L, 1.0)]
    [InlineData(1L, long.MinValue, 1.0)]
    [InlineData(1L, 0L, double.NaN)]
    [InlineData(1L, 0L, double.PositiveInfinity)]
    [InlineData(1L, 0L, double.NegativeInfinity)]
    public void MetricsWithNonNegativeTimestampsAnyStepAndAnyValuePass(long timestamp, long step, double value) =>
        Validation.Metric(new Metric("m", value, timestamp, step));

    // ---- experiment names -------------------------------------------------------------------------------------

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void EmptyExperimentNameIsAMissingParameter(string? name)
    {
        var e = MlflowAssert.Throws(() => Validation.ExperimentName(name));
        Assert.Equal("Missing value for required parameter 'name'. See the API docs for more information about request parameters.", e.Message);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(500, true)]
    [InlineData(501, false)]
    [InlineData(5000, false)]
    public void ExperimentNameLength(int length, bool accepted)
    {
        var name = new string('n', length);
        if (accepted) Validation.ExperimentName(name);
        else
        {
            var e = MlflowAssert.Throws(() => Validation.ExperimentName(name));
            Assert.Equal("Experiment name exceeds the maximum length of 500 characters", e.Message);
        }
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("a/b")]
    [InlineData("Name with 'quotes' and ../ and ?#")]
    public void ExperimentNamesHaveNoCharsetRule(string name) => Validation.ExperimentName(name);

    // ---- run ids ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("ABC")]
    [InlineData("a-b_c")]
    [InlineData("Z___---")]
    public void ValidRunIdsPass(string runId) => Validation.RunId(runId);

    [Fact]
    public void LongestValidRunIdIs256Chars()
    {
        Validation.RunId(new string('a', 256));
        MlflowAssert.Throws(() => Validation.RunId(new string('a', 257)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-abc")]
    [InlineData("_abc")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("a.b")]
    [InlineData("../etc")]
    [InlineData("a'b")]
    public void InvalidRunIdsAreRejected(string runId)
    {
        var e = MlflowAssert.Throws(() => Validation.RunId(runId));
        Assert.Equal($"Invalid run ID: '{runId}'", e.Message);
    }

    // ---- log-batch --------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1000, 0, 0)]
    [InlineData(0, 100, 0)]
    [InlineData(0, 0, 100)]
    [InlineData(900, 50, 50)]
    [InlineData(800, 100, 100)]
    public void BatchesWithinLimitsPass(int metrics, int @params, int tags) => Validation.BatchLimits(metrics, @params, tags);

    [Theory]
    [InlineData(1001, 0, 0, "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again.")]
    [InlineData(5000, 0, 0, "A batch logging request can contain at most 1000 metrics. Got 5000 metrics. Please split up metrics across multiple requests and try again.")]
    [InlineData(0, 101, 0, "A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.")]
    [InlineData(0, 0, 101, "A batch logging request can contain at most 100 tags. Got 101 tags. Please split up tags across multiple requests and try again.")]
    // Metrics are checked first, then params, then tags.
    [InlineData(1001, 101, 101, "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again.")]
    [InlineData(10, 101, 101, "A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.")]
    public void BatchLimitMessagesMatchMlflow(int metrics, int @params, int tags, string message)
    {
        var e = MlflowAssert.Throws(() => Validation.BatchLimits(metrics, @params, tags));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData(900, 100, 1, 1001)]
    [InlineData(1000, 1, 0, 1001)]
    [InlineData(1000, 100, 100, 1200)]
    public void BatchTotalOver1000IsRejected(int metrics, int @params, int tags, int total)
    {
        var e = MlflowAssert.Throws(() => Validation.BatchLimits(metrics, @params, tags));
        Assert.Contains($"at most 1000 metrics, params, and tags", e.Message);
        Assert.Contains(total.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    // mlflow/utils/validation.py: _validate_batch_limit(entity_name="metrics, params, and tags", ...), the same template
    // as the per-entity limits.
    [Fact]
    public void BatchTotalMessageMatchesMlflow()
    {
        var e = MlflowAssert.Throws(() => Validation.BatchLimits(900, 100, 1));
        Assert.Equal(
            "A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.",
            e.Message);
    }

    [Theory]
    [InlineData("a,b,a", "['a']")]
    [InlineData("a,b,a,b", "['a', 'b']")]
    [InlineData("x,x", "['x']")]
    public void DuplicateParamKeysAreRejected(string keys, string listed)
    {
        var @params = keys.Split(',').Select(k => new KeyValue(k, "v")).ToList();
        var e = MlflowAssert.Throws(() => Validation.NoDuplicateParamKeys(@params));
        Assert.Equal(
            $"Duplicate parameter keys have been submitted: {listed}. Please ensure the request contains only one param value per param key.",
            e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("a,b,c")]
    [InlineData("a,A")]
    public void DistinctParamKeysPass(string keys)
    {
        var @params = keys.Length == 0 ? [] : keys.Split(',').Select(k => new KeyValue(k, "v")).ToList();
        Validation.NoDuplicateParamKeys(@params);
    }

    // ---- artifact_location ------------------------------------------------------------------------------------

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("s3://bucket/path")]
    [InlineData("mlflow-artifacts:/5")]
    [InlineData("file:///tmp/mlruns")]
    [InlineData("s3://bucket/path?versionId=3")]
    [InlineData("s3://bucket/a..b")]
    [InlineData("s3://bucket/path?x=.y.z")]
    [InlineData("wasbs://c@acct.blob.core.windows.net/p%20q")]
    public void AcceptableArtifactLocationsPass(string? location) => Validation.ArtifactLocation(location);

    [Theory]
    [InlineData("s3://bucket/path#frag")]
    [InlineData("s3://bucket/path;params")]
    [InlineData("#")]
    public void ArtifactLocationsWithFragmentsOrParamsAreRejected(string location)
    {
        var e = MlflowAssert.Throws(() => Validation.ArtifactLocation(location));
        Assert.Equal("'artifact_location' URL can't include fragments or params.", e.Message);
    }

    [Theory]
    [InlineData("s3://bucket/path?x=..")]
    [InlineData("s3://bucket/path?x=../../etc")]
    [InlineData("s3://bucket/path?x=%2E%2E")]
    [InlineData("s3://bucket/path?x=%252E%252E")]
    [InlineData("s3://bucket/path?x=%25252E%25252E%25252F")]
    [InlineData("s3://bucket/path?x=.%2E")]
    [InlineData("s3://bucket/path?a=1&b=..%2Fsecret")]
    public void ArtifactLocationQueriesThatDecodeToDotDotAreRejected(string location)
    {
        var e = MlflowAssert.Throws(() => Validation.ArtifactLocation(location));
        Assert.Equal("Invalid query string", e.Message);
    }

    [Theory]
    [InlineData(2048, true)]
    [InlineData(2049, false)]
    [InlineData(10000, false)]
    public void ArtifactLocationLength(int length, bool accepted)
    {
        const string prefix = "s3://bucket/";
        var location = prefix + new string('p', length - prefix.Length);
        if (accepted) Validation.ArtifactLocation(location);
        else
        {
            var e = MlflowAssert.Throws(() => Validation.ArtifactLocation(location));
            Assert.StartsWith("Invalid artifact path length. The length of the artifact path cannot be greater than 2048 characters.", e.Message);
        }
    }

    // ---- dataset inputs ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData("name", 500, true)]
    [InlineData("name", 501, false)]
    [InlineData("digest", 36, true)]
    [InlineData("digest", 37, false)]
    [InlineData("source", 65535, true)]
    [InlineData("source", 65536, false)]
    [InlineData("tag-key", 255, true)]
    [InlineData("tag-key", 256, false)]
    [InlineData("tag-value", 500, true)]
    [InlineData("tag-value", 501, false)]
    public void DatasetInputLimits(string field, int length, bool accepted)
    {
        var s = new string('d', length);
        var dataset = new Dataset(
            field == "name" ? s : "ds", field == "digest" ? s : "abc", "local", field == "source" ? s : "{}", null, null);
        var tags = new List<KeyValue> { new(field == "tag-key" ? s : "mlflow.data.context", field == "tag-value" ? s : "train") };
        var input = new DatasetInput(tags, dataset);
        if (accepted) Validation.DatasetInput(input);
        else MlflowAssert.Throws(() => Validation.DatasetInput(input));
    }

    [Fact]
    public void ErrorsAreInvalidParameterValueWithStatus400()
    {
        var e = Assert.Throws<MlflowException>(() => Validation.MetricName("a//b"));
        Assert.Equal("INVALID_PARAMETER_VALUE", e.Code.Name);
        Assert.Equal(400, e.Code.HttpStatus);
    }
}
