using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core;
using Tracker.Core.Tracking;
using Tracker.Functions.Http;

namespace Tracker.Tests.Unit;

public class MlflowJsonTests
{
    private static string Write(Action<Utf8JsonWriter> members)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string WriteDouble(double value) => Write(w => w.WriteDouble("v", value));

    private static async Task<(int Status, string? ContentType, string Body)> Execute(IResult result)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().BuildServiceProvider() };
        var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteAsync(context);
        return (context.Response.StatusCode, context.Response.ContentType, Encoding.UTF8.GetString(body.ToArray()));
    }

    // ---- doubles ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(0.5, "0.5")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(100.0, "100.0")]
    [InlineData(123456789.0, "123456789.0")]
    [InlineData(-7.0, "-7.0")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    public void DoublesArePythonReprLike(double value, string json) => Assert.Equal($"{{\"v\":{json}}}", WriteDouble(value));

    [Theory]
    [InlineData(double.NaN, "\"NaN\"")]
    [InlineData(double.PositiveInfinity, "\"Infinity\"")]
    [InlineData(double.NegativeInfinity, "\"-Infinity\"")]
    public void NonFiniteDoublesAreProtoJsonStrings(double value, string json) => Assert.Equal($"{{\"v\":{json}}}", WriteDouble(value));

    [Theory]
    [InlineData(1.0)]
    [InlineData(1e300)]
    [InlineData(-1e300)]
    [InlineData(1e16)]
    [InlineData(1e15)]
    [InlineData(1e22)]
    [InlineData(1e-7)]
    [InlineData(123456.789)]
    [InlineData(double.MaxValue)]
    [InlineData(-double.MaxValue)]
    [InlineData(double.Epsilon)]
    [InlineData(2.2250738585072014e-308)]
    [InlineData(0.1 + 0.2)]
    [InlineData(9007199254740993.0)]
    public void FiniteDoublesAreFloatLiteralsThatRoundTrip(double value)
    {
        var json = WriteDouble(value);
        using var doc = JsonDocument.Parse(json);
        var element = doc.RootElement.GetProperty("v");
        Assert.Equal(JsonValueKind.Number, element.ValueKind);
        Assert.Equal(value, element.GetDouble());
        // Python's json module reads a literal without '.', 'e' or 'E' as int, which MLflow's client would then show as 1, not 1.0.
        Assert.True(element.GetRawText().AsSpan().IndexOfAny(".eE") >= 0, element.GetRawText());
    }

    [Fact]
    public void AMetricOfNaNReadsBackAsTheString()
    {
        var json = Write(w =>
        {
            w.WritePropertyName("metric");
            w.WriteMetric(new Metric("loss", double.NaN, 5, 1), runId: "r");
        });
        Assert.Equal("{\"metric\":{\"key\":\"loss\",\"value\":\"NaN\",\"timestamp\":5,\"step\":1,\"run_id\":\"r\"}}", json);
    }

    [Fact]
    public void MetricsWithoutRunIdOmitIt()
    {
        var json = Write(w =>
        {
            w.WritePropertyName("m");
            w.WriteMetric(new Metric("acc", 1, 1700000000000, -3));
        });
        Assert.Equal("{\"m\":{\"key\":\"acc\",\"value\":1.0,\"timestamp\":1700000000000,\"step\":-3}}", json);
    }

    // ---- messages ---------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(null, "{\"run_id\":\"r1\",\"run_uuid\":\"r1\",\"run_name\":\"n\",\"experiment_id\":\"5\",\"user_id\":\"u\",\"status\":\"RUNNING\",\"start_time\":10,\"artifact_uri\":\"mlflow-artifacts:/5/r1/artifacts\",\"lifecycle_stage\":\"active\"}")]
    [InlineData(20L, "{\"run_id\":\"r1\",\"run_uuid\":\"r1\",\"run_name\":\"n\",\"experiment_id\":\"5\",\"user_id\":\"u\",\"status\":\"RUNNING\",\"start_time\":10,\"end_time\":20,\"artifact_uri\":\"mlflow-artifacts:/5/r1/artifacts\",\"lifecycle_stage\":\"active\"}")]
    public void RunInfoCarriesRunUuidAndOmitsUnsetEndTime(long? endTime, string expected)
    {
        var info = new RunInfo("r1", "5", "n", "u", "RUNNING", 10, endTime, "mlflow-artifacts:/5/r1/artifacts", "active");
        Assert.Equal(expected, Write(w => w.WriteRunInfo(info)));
    }

    [Fact]
    public void EmptyKeyValueListsAreOmitted() => Assert.Equal("{}", Write(w => w.WriteKeyValues("tags", [])));

    [Fact]
    public void KeyValues() =>
        Assert.Equal(
            "{\"tags\":[{\"key\":\"a\",\"value\":\"\"},{\"key\":\"b/c\",\"value\":\"x\"}]}",
            Write(w => w.WriteKeyValues("tags", [new KeyValue("a", ""), new KeyValue("b/c", "x")])));

    [Fact]
    public void ExperimentAlwaysCarriesLifecycleStage()
    {
        var json = Write(w => w.WriteExperiment(new Experiment("0", "Default", "mlflow-artifacts:/0", "deleted", 1, 2, [])));
        Assert.Equal(
            "{\"experiment_id\":\"0\",\"name\":\"Default\",\"artifact_location\":\"mlflow-artifacts:/0\",\"lifecycle_stage\":\"deleted\",\"last_update_time\":2,\"creation_time\":1}",
            json);
    }

    [Fact]
    public void RunAlwaysHasInfoDataInputsAndOutputs()
    {
        var run = new Run(
            new RunInfo("r", "1", "n", "u", "FINISHED", 1, 2, "a", "active"),
            [new Metric("m", double.PositiveInfinity, 1, 0)], [], [new KeyValue("t", "v")], [], [], []);
        using var doc = JsonDocument.Parse(Write(w => w.WriteRun(run)));
        var root = doc.RootElement;
        Assert.Equal("FINISHED", root.GetProperty("info").GetProperty("status").GetString());
        Assert.Equal("Infinity", root.GetProperty("data").GetProperty("metrics")[0].GetProperty("value").GetString());
        Assert.False(root.GetProperty("data").TryGetProperty("params", out _));
        Assert.Equal(JsonValueKind.Object, root.GetProperty("inputs").ValueKind);
        Assert.Equal(JsonValueKind.Object, root.GetProperty("outputs").ValueKind);
    }

    // ---- results ----------------------------------------------------------------------------------------------

    public static TheoryData<string, int> Codes => new()
    {
        { ErrorCode.InvalidParameterValue.Name, 400 },
        { ErrorCode.ResourceAlreadyExists.Name, 400 },
        { ErrorCode.ResourceDoesNotExist.Name, 404 },
        { ErrorCode.EndpointNotFound.Name, 404 },
        { ErrorCode.PermissionDenied.Name, 403 },
        { ErrorCode.Unauthenticated.Name, 401 },
        { ErrorCode.ResourceConflict.Name, 409 },
        { ErrorCode.RequestLimitExceeded.Name, 429 },
        { ErrorCode.InternalError.Name, 500 },
        { ErrorCode.InvalidState.Name, 500 },
        { ErrorCode.NotImplemented.Name, 501 },
        { ErrorCode.TemporarilyUnavailable.Name, 503 },
    };

    private static readonly ErrorCode[] AllCodes =
    [
        ErrorCode.InvalidParameterValue, ErrorCode.ResourceAlreadyExists, ErrorCode.BadRequest, ErrorCode.ResourceDoesNotExist,
        ErrorCode.EndpointNotFound, ErrorCode.Unauthenticated, ErrorCode.PermissionDenied, ErrorCode.ResourceConflict,
        ErrorCode.RequestLimitExceeded, ErrorCode.InternalError, ErrorCode.InvalidState, ErrorCode.NotImplemented,
        ErrorCode.TemporarilyUnavailable,
    ];

    [Theory]
    [MemberData(nameof(Codes))]
    public async Task ErrorWritesMlflowsErrorBodyWithTheCodesStatus(string name, int status)
    {
        var code = AllCodes.Single(c => c.Name == name);
        var (actualStatus, contentType, body) = await Execute(MlflowJson.Error(code, "Run with id=abc not found"));
        Assert.Equal(status, actualStatus);
        Assert.Equal("application/json", contentType);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(name, doc.RootElement.GetProperty("error_code").GetString());
        Assert.Equal("Run with id=abc not found", doc.RootElement.GetProperty("message").GetString());
        Assert.Equal(2, doc.RootElement.EnumerateObject().Count());
    }

    [Theory]
    [InlineData("Invalid value \"x\" for parameter 'p' supplied.")]
    [InlineData("line\nbreak\tand \\ backslash")]
    [InlineData("größe 日本語 <script>&</script>")]
    [InlineData("")]
    public async Task ErrorMessagesAreEscapedAndSurviveExactly(string message)
    {
        var (_, _, body) = await Execute(MlflowJson.Error(ErrorCode.InvalidParameterValue, message));
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(message, doc.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task QuotesReadAsMlflowWritesThemAndHtmlCharactersStayEscaped()
    {
        // MLflow's clients and scripts match raw response text such as "Invalid value \"foo\" for parameter 'metrics'".
        var (_, _, body) = await Execute(MlflowJson.Error(ErrorCode.InvalidParameterValue, "Invalid value \"foo\" for parameter 'metrics' <script>&</script>"));
        Assert.Equal(
            "{\"error_code\":\"INVALID_PARAMETER_VALUE\",\"message\":\"Invalid value \\\"foo\\\" for parameter 'metrics' \\u003Cscript\\u003E\\u0026\\u003C/script\\u003E\"}",
            body);
    }

    [Fact]
    public async Task NonAsciiAndControlCharactersAreValidJson()
    {
        var (_, _, body) = await Execute(MlflowJson.Object(w => w.WriteString("v", "größe 日本語 \u2028 \u0001 +`")));
        Assert.Equal("größe 日本語 \u2028 \u0001 +`", JsonDocument.Parse(body).RootElement.GetProperty("v").GetString());
    }

    [Fact]
    public async Task EmptyIsAnEmptyObject()
    {
        var (status, contentType, body) = await Execute(MlflowJson.Empty());
        Assert.Equal(200, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal("{}", body);
    }

    [Fact]
    public async Task ObjectWritesMembersWithTheGivenStatus()
    {
        var (status, _, body) = await Execute(MlflowJson.Object(w =>
        {
            w.WriteString("run_id", "r");
            w.WriteDouble("value", 2);
        }, 201));
        Assert.Equal(201, status);
        Assert.Equal("{\"run_id\":\"r\",\"value\":2.0}", body);
    }
}
