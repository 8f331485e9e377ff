using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Tracker.Core;
using Tracker.Functions.Http;

namespace Tracker.Tests.Unit;

public class RequestArgsTests
{
    private const string MissingSuffix = ". See the API docs for more information about request parameters.";

    private static Task<RequestArgs> Get(string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        if (query.Length > 0) context.Request.QueryString = new QueryString(query);
        return RequestArgs.ReadAsync(context.Request, CancellationToken.None);
    }

    private static Task<RequestArgs> Send(string body, string? contentType = "application/json", string method = "POST") =>
        Send(Encoding.UTF8.GetBytes(body), contentType, method);

    private static Task<RequestArgs> Send(byte[] body, string? contentType = "application/json", string method = "POST")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        return RequestArgs.ReadAsync(context.Request, CancellationToken.None);
    }

    private static async Task<MlflowException> Rejects(Func<Task<RequestArgs>> read) =>
        await MlflowAssert.ThrowsAsync(read);

    // ---- GET: query strings -----------------------------------------------------------------------------------

    [Fact]
    public async Task RepeatedQueryKeysAreAList()
    {
        var args = await Get("?experiment_ids=1&experiment_ids=2&order_by=a&order_by=b%20DESC");
        Assert.Equal(["1", "2"], args.StringList("experiment_ids"));
        Assert.Equal(["a", "b DESC"], args.StringList("order_by"));
    }

    [Fact]
    public async Task ASingleQueryValueIsAListOfOne() => Assert.Equal(["7"], (await Get("?experiment_ids=7")).StringList("experiment_ids"));

    [Fact]
    public async Task AbsentQueryKeyIsAnEmptyListAndNull()
    {
        var args = await Get("?other=1");
        Assert.Empty(args.StringList("run_ids"));
        Assert.Null(args.String("run_id"));
        Assert.Null(args.Int64("max_results"));
        Assert.Null(args.Bool("flag"));
        Assert.False(args.Has("run_id"));
        Assert.True(args.Has("other"));
    }

    [Fact]
    public async Task NoQueryStringIsEmptyArguments()
    {
        var args = await Get("");
        Assert.Null(args.String("run_id"));
        Assert.Empty(args.StringList("run_ids"));
    }

    /// <summary>
    /// One value per scalar, so an authoriser and a handler can never read different ones (security baseline §1.6,
    /// case 11): a repeated key is refused, whichever accessor reads it, equal values included.
    /// </summary>
    [Theory]
    [InlineData("?run_id=a&run_id=b", "run_id")]
    [InlineData("?run_id=a&run_id=a", "run_id")]
    [InlineData("?run_id=a&RUN_ID=b", "run_id")]
    [InlineData("?page_token=x&page_token=y", "page_token")]
    [InlineData("?max_results=1&max_results=2", "max_results")]
    [InlineData("?flag=true&flag=false", "flag")]
    [InlineData("?value=1&value=2", "value")]
    public async Task ARepeatedScalarQueryKeyIsAmbiguous(string query, string field)
    {
        var args = await Get(query);
        var e = MlflowAssert.Throws(() => args.String(field));
        Assert.StartsWith("Ambiguous request", e.Message);
        Assert.Contains($"'{field}'", e.Message);
        foreach (var read in new Action[] { () => args.Int64(field), () => args.Int32(field), () => args.Double(field), () => args.Bool(field) })
            MlflowAssert.Throws(read);
    }

    [Fact]
    public async Task ARepeatedQueryKeyIsAmbiguousForRunId()
    {
        var args = await Get("?run_id=a&run_id=b");
        MlflowAssert.Throws(() => args.RunId());
    }

    [Fact]
    public void RawUploadsReadTheirQueryWithTheSameRules()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.QueryString = new QueryString("?run_uuid=r&path=a&path=b");
        var args = RequestArgs.FromQuery(context.Request);
        Assert.Equal("r", args.String("run_uuid"));
        Assert.StartsWith("Ambiguous request", MlflowAssert.Throws(() => args.String("path")).Message);
    }

    [Theory]
    // The Functions host's forwarding mode joins repeated query keys with commas.
    [InlineData("?run_ids=a%2Cb", new[] { "a", "b" })]
    [InlineData("?run_ids=a,b", new[] { "a", "b" })]
    [InlineData("?run_ids=a%2Cb&run_ids=c", new[] { "a", "b", "c" })]
    [InlineData("?run_ids=a&run_ids=b", new[] { "a", "b" })]
    [InlineData("?run_ids=a%2C%20b%2C", new[] { "a", "b" })]
    [InlineData("?run_ids=a", new[] { "a" })]
    [InlineData("?run_ids=", new string[0])]
    public async Task IdListsSplitCommaJoinedValues(string query, string[] expected) =>
        Assert.Equal(expected, (await Get(query)).StringList("run_ids", idList: true));

    [Fact]
    public async Task OtherListsKeepCommas() =>
        Assert.Equal(["metrics.a DESC,b", "c"], (await Get("?order_by=metrics.a%20DESC%2Cb&order_by=c")).StringList("order_by"));

    [Theory]
    [InlineData("True", true)]
    [InlineData("False", false)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("TRUE", true)]
    public async Task QueryBooleansArePythonOrJsonSpelling(string value, bool expected) =>
        Assert.Equal(expected, (await Get("?flag=" + value)).Bool("flag"));

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("0")]
    [InlineData("")]
    [InlineData("t")]
    public async Task OtherQueryBooleansAreRejected(string value)
    {
        var args = await Get("?flag=" + value);
        var e = MlflowAssert.Throws(() => args.Bool("flag"));
        Assert.Contains("for parameter 'flag' supplied", e.Message);
    }

    [Theory]
    [InlineData("?max_results=5", 5L)]
    [InlineData("?max_results=-3", -3L)]
    [InlineData("?max_results=9223372036854775807", long.MaxValue)]
    public async Task QueryInt64(string query, long expected) => Assert.Equal(expected, (await Get(query)).Int64("max_results"));

    [Theory]
    [InlineData("?max_results=abc")]
    [InlineData("?max_results=1.5")]
    [InlineData("?max_results=9223372036854775808")]
    [InlineData("?max_results=")]
    public async Task BadQueryInt64IsRejected(string query)
    {
        var args = await Get(query);
        var e = MlflowAssert.Throws(() => args.Int64("max_results"));
        Assert.Contains("for parameter 'max_results' supplied", e.Message);
    }

    [Theory]
    [InlineData("NaN", double.NaN)]
    [InlineData("Infinity", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("0.5", 0.5)]
    public async Task QueryDoubles(string value, double expected) =>
        Assert.Equal(expected, (await Get("?value=" + Uri.EscapeDataString(value))).Double("value"));

    [Fact]
    public async Task QueryKeysMustBeSnakeCase() => Assert.Null((await Get("?runId=abc")).String("run_id"));

    [Theory]
    [InlineData("?run_id=a", "a")]
    [InlineData("?run_uuid=u", "u")]
    [InlineData("?run_id=a&run_uuid=a", "a")]
    [InlineData("?run_id=&run_uuid=u", "u")]
    public async Task QueryRunIdFallsBackToRunUuid(string query, string expected) => Assert.Equal(expected, (await Get(query)).RunId());

    [Fact]
    public async Task QueryRunIdAndADifferentRunUuidAreAmbiguous()
    {
        var args = await Get("?run_id=a&run_uuid=u");
        Assert.StartsWith("Ambiguous request", MlflowAssert.Throws(() => args.RunId()).Message);
    }

    [Fact]
    public async Task ObjectsAreNotReadFromQueries() => Assert.Empty((await Get("?tags=x")).Objects("tags"));

    // ---- bodies: content type and shape -----------------------------------------------------------------------

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json;charset=UTF-8")]
    [InlineData("Application/JSON")]
    public async Task JsonContentTypesAreAccepted(string contentType) =>
        Assert.Equal("x", (await Send("{\"name\":\"x\"}", contentType)).String("name"));

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/plain; charset=utf-8")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/jsonx")]
    [InlineData("application/json-patch+json")]
    [InlineData("json")]
    [InlineData("")]
    [InlineData(null)]
    public async Task OtherContentTypesAreRejected(string? contentType)
    {
        var e = await Rejects(() => Send("{\"name\":\"x\"}", contentType));
        Assert.StartsWith("Bad Request. Content-Type must be 'application/json'", e.Message);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    [InlineData("PUT")]
    public async Task EveryNonGetMethodReadsTheJsonBody(string method) =>
        Assert.Equal("v", (await Send("{\"name\":\"v\"}", method: method)).String("name"));

    [Fact]
    public async Task TextPlainIsRejectedOnDeleteBodiesToo() => await Rejects(() => Send("{\"name\":\"x\"}", "text/plain", "DELETE"));

    [Fact]
    public async Task EmptyPostBodyIsAnEmptyObject()
    {
        var args = await Send("");
        Assert.False(args.Has("name"));
        Assert.Null(args.String("name"));
        Assert.Empty(args.StringList("experiment_ids"));
        Assert.Empty(args.Objects("tags"));
    }

    [Fact]
    public async Task EmptyPostBodyStillNeedsTheJsonContentType() => await Rejects(() => Send("", contentType: null));

    [Fact]
    public async Task EmptyDeleteBodyWithoutContentTypeIsAnEmptyObject() =>
        Assert.Null((await Send("", contentType: null, method: "DELETE")).String("name"));

    [Fact]
    public async Task DoubleEncodedBodyIsParsedAgain()
    {
        var inner = "{\"name\":\"x\",\"max_results\":5}";
        var args = await Send(JsonSerializer.Serialize(inner));
        Assert.Equal("x", args.String("name"));
        Assert.Equal(5, args.Int32("max_results"));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"name\":\"x\"}]")]
    [InlineData("5")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("\"just a string\"")]
    [InlineData("\"[1,2]\"")]
    [InlineData("\"\\\"x\\\"\"")]
    public async Task BodiesThatAreNotObjectsAreRejected(string body) => await Rejects(() => Send(body));

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"name\":")]
    [InlineData("{\"name\":\"x\",}")]
    [InlineData("{'name':'x'}")]
    [InlineData("{\"name\":\"x\"} trailing")]
    [InlineData("{\"value\": NaN}")]
    [InlineData("\"{not json\"")]
    [InlineData("\u0000")]
    public async Task MalformedJsonIsInvalidParameterValue(string body) => await Rejects(() => Send(body));

    // Invalid UTF-8 inside a string value: rejected when the body is read or when the field is, never a 500.
    [Fact]
    public async Task InvalidUtf8InAValueIsInvalidParameterValue()
    {
        byte[] body = [.. "{\"name\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        RequestArgs args;
        try
        {
            args = await Send(body);
        }
        catch (MlflowException e)
        {
            Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
            return;
        }
        MlflowAssert.Throws(() => args.String("name"));
    }

    [Fact]
    public async Task DeeplyNestedJsonIsInvalidParameterValue() =>
        await Rejects(() => Send(new string('[', 100) + new string(']', 100)));

    [Fact]
    public async Task OversizedBodyIs413()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream("{}"u8.ToArray());
        context.Request.ContentLength = RequestArgs.MaxBodyBytes + 1L;
        var e = await Assert.ThrowsAsync<MlflowException>(() => RequestArgs.ReadAsync(context.Request, CancellationToken.None));
        Assert.Equal(413, e.Code.HttpStatus);
    }

    [Fact]
    public async Task BodyOverTheLimitWithoutContentLengthIs413()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(new byte[RequestArgs.MaxBodyBytes + 1]);
        var e = await Assert.ThrowsAsync<MlflowException>(() => RequestArgs.ReadAsync(context.Request, CancellationToken.None));
        Assert.Equal(413, e.Code.HttpStatus);
    }

    // ---- scalar fields ----------------------------------------------------------------------------------------

    [Theory]
    [InlineData("{\"timestamp\": 1700000000000}", 1700000000000L)]
    [InlineData("{\"timestamp\": \"1700000000000\"}", 1700000000000L)]
    [InlineData("{\"timestamp\": -5}", -5L)]
    [InlineData("{\"timestamp\": \"-5\"}", -5L)]
    [InlineData("{\"timestamp\": 0}", 0L)]
    [InlineData("{\"timestamp\": 9223372036854775807}", long.MaxValue)]
    [InlineData("{\"timestamp\": \"9223372036854775807\"}", long.MaxValue)]
    [InlineData("{\"timestamp\": -9223372036854775808}", long.MinValue)]
    public async Task Int64AsNumberOrString(string body, long expected) => Assert.Equal(expected, (await Send(body)).Int64("timestamp"));

    [Theory]
    [InlineData("{\"timestamp\": 1.5}", "1.5", "float")]
    [InlineData("{\"timestamp\": 1e20}", "1e20", "float")]
    [InlineData("{\"timestamp\": 9223372036854775808}", "9223372036854775808", "int")]
    [InlineData("{\"timestamp\": true}", "true", "bool")]
    [InlineData("{\"timestamp\": [1]}", "[1]", "list")]
    [InlineData("{\"timestamp\": {}}", "{}", "dict")]
    [InlineData("{\"timestamp\": \"abc\"}", "\"abc\"", "str")]
    [InlineData("{\"timestamp\": \"1.5\"}", "\"1.5\"", "str")]
    [InlineData("{\"timestamp\": \"\"}", "\"\"", "str")]
    public async Task BadInt64IsRejectedWithMlflowsMessage(string body, string raw, string pythonType)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.Int64("timestamp"));
        Assert.Equal($"Invalid value {raw} for parameter 'timestamp' supplied:  Hint: Value was of type '{pythonType}'{MissingSuffix}", e.Message);
    }

    [Theory]
    [InlineData("{\"max_results\": 2147483647}", int.MaxValue)]
    [InlineData("{\"max_results\": \"-2147483648\"}", int.MinValue)]
    [InlineData("{\"max_results\": 100}", 100)]
    public async Task Int32(string body, int expected) => Assert.Equal(expected, (await Send(body)).Int32("max_results"));

    [Theory]
    [InlineData("{\"max_results\": 2147483648}")]
    [InlineData("{\"max_results\": -2147483649}")]
    public async Task Int32OutOfRangeIsRejected(string body)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.Int32("max_results"));
        Assert.Contains("'max_results'", e.Message);
    }

    [Theory]
    [InlineData("{\"value\": \"NaN\"}", double.NaN)]
    [InlineData("{\"value\": \"Infinity\"}", double.PositiveInfinity)]
    [InlineData("{\"value\": \"-Infinity\"}", double.NegativeInfinity)]
    [InlineData("{\"value\": 1}", 1.0)]
    [InlineData("{\"value\": 0.5}", 0.5)]
    [InlineData("{\"value\": -2e10}", -2e10)]
    [InlineData("{\"value\": 1.7976931348623157e308}", double.MaxValue)]
    [InlineData("{\"value\": 5e-324}", double.Epsilon)]
    [InlineData("{\"value\": \"0.25\"}", 0.25)]
    public async Task Doubles(string body, double expected) => Assert.Equal(expected, (await Send(body)).Double("value"));

    [Theory]
    [InlineData("{\"value\": \"not-a-number\"}")]
    [InlineData("{\"value\": \"\"}")]
    [InlineData("{\"value\": \"1e400\"}")]
    [InlineData("{\"value\": true}")]
    [InlineData("{\"value\": false}")]
    [InlineData("{\"value\": [1.0]}")]
    [InlineData("{\"value\": {}}")]
    public async Task BadDoublesAreRejected(string body)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.Double("value"));
        Assert.Contains("for parameter 'value' supplied", e.Message);
    }

    [Fact]
    public async Task NotANumberStringGetsMlflowsMessage()
    {
        var args = await Send("{\"value\": \"not-a-number\"}");
        var e = MlflowAssert.Throws(() => args.Double("value"));
        Assert.Equal($"Invalid value \"not-a-number\" for parameter 'value' supplied:  Hint: Value was of type 'str'{MissingSuffix}", e.Message);
    }

    // Python's json module reads an out-of-range literal as ±inf; it must never become an unhandled exception (a 500
    // the client retries).
    [Theory]
    [InlineData("{\"value\": 1e400}", double.PositiveInfinity)]
    [InlineData("{\"value\": -1e400}", double.NegativeInfinity)]
    public async Task OutOfRangeJsonNumbersReadAsInfinity(string body, double expected) =>
        Assert.Equal(expected, (await Send(body)).Double("value"));

    [Theory]
    [InlineData("{\"flag\": true}", true)]
    [InlineData("{\"flag\": false}", false)]
    [InlineData("{\"flag\": null}", null)]
    [InlineData("{}", null)]
    public async Task JsonBooleans(string body, bool? expected) => Assert.Equal(expected, (await Send(body)).Bool("flag"));

    [Theory]
    [InlineData("{\"flag\": \"true\"}")]
    [InlineData("{\"flag\": 1}")]
    [InlineData("{\"flag\": \"True\"}")]
    public async Task NonBooleanJsonIsRejected(string body)
    {
        var args = await Send(body);
        MlflowAssert.Throws(() => args.Bool("flag"));
    }

    [Theory]
    [InlineData("{\"experiment_id\": \"5\"}", "5")]
    [InlineData("{\"experiment_id\": 5}", "5")]
    [InlineData("{\"experiment_id\": \"\"}", "")]
    [InlineData("{\"experiment_id\": null}", null)]
    [InlineData("{}", null)]
    public async Task StringsAcceptNumbersForPreZeroNineExperimentIds(string body, string? expected) =>
        Assert.Equal(expected, (await Send(body)).String("experiment_id"));

    [Theory]
    [InlineData("{\"run_id\": 31}", "run_id", "31", "int")]
    [InlineData("{\"name\": 123}", "name", "123", "int")]
    [InlineData("{\"artifact_location\": 9.0}", "artifact_location", "9.0", "float")]
    [InlineData("{\"value\": 41}", "value", "41", "int")]
    public async Task NumbersAreNotStringsExceptExperimentIds(string body, string field, string raw, string pythonType)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.String(field));
        Assert.Equal($"Invalid value {raw} for parameter '{field}' supplied:  Hint: Value was of type '{pythonType}'{MissingSuffix}", e.Message);
    }

    [Theory]
    [InlineData("{\"tags\": \"5\"}", "\"5\"", "str")]
    [InlineData("{\"tags\": {\"value\": [1, \"\u00e9\"], \"key\": 2.5}}", "{\"key\":2.5,\"value\":[1,\"\\u00e9\"]}", "dict")]
    [InlineData("{\"tags\": true}", "true", "bool")]
    public async Task InvalidValuesAreQuotedAsMlflowsJsonDumps(string body, string formatted, string pythonType)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.Objects("tags"));
        Assert.Equal($"Invalid value {formatted} for parameter 'tags' supplied:  Hint: Value was of type '{pythonType}'{MissingSuffix}", e.Message);
    }

    [Fact]
    public async Task LongInvalidValuesAreCutInTheMessage()
    {
        var args = await Send("{\"name\": [\"" + new string('a', 100_000) + "\"]}");
        var e = MlflowAssert.Throws(() => args.String("name"));
        Assert.StartsWith("Invalid value [\"aaa", e.Message);
        Assert.True(e.Message.Length < 500, e.Message);
    }

    [Fact]
    public async Task ARouteMayBoundItsBodyMoreTightly()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes("{\"a\": \"" + new string('x', 2000) + "\"}"));
        var e = await Assert.ThrowsAsync<MlflowException>(() => RequestArgs.ReadAsync(context.Request, CancellationToken.None, 1000,
            size => MlflowException.InvalidParameter($"too big: {size}")));
        Assert.Equal("too big: 1001", e.Message);
    }

    [Theory]
    [InlineData("{\"name\": true}")]
    [InlineData("{\"name\": [\"x\"]}")]
    [InlineData("{\"name\": {\"a\": 1}}")]
    public async Task NonStringValuesOfStringFieldsAreRejected(string body)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.String("name"));
        Assert.StartsWith("Invalid value ", e.Message);
        Assert.Contains("for parameter 'name' supplied", e.Message);
    }

    [Fact]
    public async Task UnknownFieldsAreIgnored() => Assert.Equal("x", (await Send("{\"name\":\"x\",\"bogus\":{\"deep\":[1]}}")).String("name"));

    // ---- required fields and presence -------------------------------------------------------------------------

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"name\": null}")]
    [InlineData("{\"name\": \"\"}")]
    [InlineData("")]
    public async Task MissingNullOrEmptyRequiredFieldGetsMlflowsMessage(string body)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.RequiredString("name"));
        Assert.Equal("Missing value for required parameter 'name'. See the API docs for more information about request parameters.", e.Message);
    }

    [Theory]
    [InlineData("{\"name\": \"x\"}", "x")]
    [InlineData("{\"name\": \" \"}", " ")]
    public async Task PresentRequiredFieldsAreReturned(string body, string expected) =>
        Assert.Equal(expected, (await Send(body)).RequiredString("name"));

    [Fact]
    public async Task RequiredQueryField()
    {
        var args = await Get("?other=1");
        var e = MlflowAssert.Throws(() => args.RequiredString("experiment_id"));
        Assert.Equal("Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters.", e.Message);
    }

    [Theory]
    [InlineData("{\"value\": \"\"}", true)]
    [InlineData("{\"value\": 0}", true)]
    [InlineData("{\"value\": false}", true)]
    [InlineData("{\"value\": null}", false)]
    [InlineData("{}", false)]
    public async Task HasDistinguishesSetFromUnset(string body, bool has) => Assert.Equal(has, (await Send(body)).Has("value"));

    [Theory]
    [InlineData("{\"run_id\": \"r\"}", "r")]
    [InlineData("{\"run_uuid\": \"u\"}", "u")]
    // MLflow's Python client sends both, equal.
    [InlineData("{\"run_id\": \"r\", \"run_uuid\": \"r\"}", "r")]
    [InlineData("{\"run_id\": \"\", \"run_uuid\": \"u\"}", "u")]
    [InlineData("{\"run_id\": null, \"run_uuid\": \"u\"}", "u")]
    [InlineData("{\"runId\": \"r\"}", "r")]
    [InlineData("{\"runUuid\": \"u\"}", "u")]
    public async Task RunIdFallsBackToRunUuid(string body, string expected) => Assert.Equal(expected, (await Send(body)).RunId());

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"run_id\": \"\", \"run_uuid\": \"\"}")]
    [InlineData("{\"run_id\": null}")]
    public async Task MissingRunIdNamesRunId(string body)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.RunId());
        Assert.Equal("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.", e.Message);
    }

    // ---- lowerCamelCase ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData("{\"experimentId\": \"3\"}", "experiment_id", "3")]
    [InlineData("{\"runId\": \"r\"}", "run_id", "r")]
    [InlineData("{\"pageToken\": \"t\"}", "page_token", "t")]
    public async Task LowerCamelCaseIsAccepted(string body, string field, string expected) =>
        Assert.Equal(expected, (await Send(body)).String(field));

    [Fact]
    public async Task LowerCamelCaseListsAndNumbers()
    {
        var args = await Send("{\"experimentIds\": [\"1\", 2], \"maxResults\": \"10\", \"runViewType\": \"ALL\"}");
        Assert.Equal(["1", "2"], args.StringList("experiment_ids"));
        Assert.Equal(10, args.Int32("max_results"));
        Assert.Equal("ALL", args.String("run_view_type"));
    }

    [Theory]
    [InlineData("{\"run_id\": \"a\", \"runId\": \"b\"}", "run_id")]
    [InlineData("{\"experiment_id\": \"1\", \"experimentId\": 1}", "experiment_id")]
    [InlineData("{\"max_results\": 1, \"maxResults\": 2}", "max_results")]
    [InlineData("{\"run_id\": null, \"runId\": \"b\"}", "run_id")]
    // No MLflow client sends both spellings (Python sends snake_case, Java lowerCamelCase), so equal values are refused too.
    [InlineData("{\"run_id\": \"r\", \"runId\": \"r\"}", "run_id")]
    [InlineData("{\"page_token\": \"t\", \"pageToken\": \"t\"}", "page_token")]
    public async Task BothSpellingsAreRejected(string body, string field)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.String(field));
        Assert.StartsWith("Ambiguous request", e.Message);
    }

    [Theory]
    [InlineData("{\"experiment_ids\": [\"1\"], \"experimentIds\": [\"2\"]}")]
    [InlineData("{\"experiment_ids\": [\"1\"], \"experimentIds\": [\"1\"]}")]
    [InlineData("{\"experiment_ids\": [], \"experimentIds\": [\"2\"]}")]
    public async Task BothSpellingsOfAListAreRejected(string body)
    {
        var args = await Send(body);
        Assert.StartsWith("Ambiguous request", MlflowAssert.Throws(() => args.StringList("experiment_ids")).Message);
    }

    [Theory]
    [InlineData("{\"run_id\": \"a\", \"runId\": \"b\"}")]
    [InlineData("{\"run_id\": \"a\", \"run_uuid\": \"b\"}")]
    [InlineData("{\"runId\": \"a\", \"runUuid\": \"b\"}")]
    [InlineData("{\"run_id\": \"a\", \"runUuid\": \"b\"}")]
    [InlineData("{\"metrics\": [{\"run_id\": \"a\", \"run_uuid\": \"b\"}]}")]
    public async Task AmbiguousRunIdIsRejected(string body)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => (args.Objects("metrics") is [var metric] ? metric : args).RunId());
        Assert.StartsWith("Ambiguous request", e.Message);
    }

    /// <summary>System.Text.Json keeps the last of a repeated key, but another reader may keep the first: refused.</summary>
    [Theory]
    [InlineData("{\"run_id\": \"a\", \"run_id\": \"b\"}")]
    [InlineData("{\"run_id\": \"a\", \"run_id\": \"a\"}")]
    [InlineData("{\"run_id\": \"a\", \"run_\\u0069d\": \"b\"}")]
    [InlineData("{\"metrics\": [{\"key\": \"a\", \"value\": 1, \"key\": \"b\"}]}")]
    [InlineData("{\"dataset\": {\"inner\": {\"name\": 1, \"name\": 2}}}")]
    [InlineData("\"{\\\"run_id\\\": \\\"a\\\", \\\"run_id\\\": \\\"b\\\"}\"")]
    public async Task ARepeatedJsonKeyAtAnyDepthIsRejected(string body)
    {
        var e = await Rejects(() => Send(body));
        Assert.Contains("Duplicate property", e.Message);
    }

    // ---- lists and nested messages ----------------------------------------------------------------------------

    [Theory]
    [InlineData("{\"experiment_ids\": [\"1\", \"2\"]}", new[] { "1", "2" })]
    [InlineData("{\"experiment_ids\": [1, \"2\"]}", new[] { "1", "2" })]
    [InlineData("{\"experiment_ids\": []}", new string[0])]
    [InlineData("{\"experiment_ids\": null}", new string[0])]
    [InlineData("{\"experiment_ids\": \"7\"}", new[] { "7" })]
    [InlineData("{\"experiment_ids\": [\"a,b\"]}", new[] { "a,b" })]
    public async Task JsonStringLists(string body, string[] expected) => Assert.Equal(expected, (await Send(body)).StringList("experiment_ids"));

    [Theory]
    [InlineData("{\"experiment_ids\": [\"1\", {}]}", "experiment_ids[1]")]
    [InlineData("{\"experiment_ids\": [null]}", "experiment_ids[0]")]
    [InlineData("{\"experiment_ids\": [true]}", "experiment_ids[0]")]
    [InlineData("{\"experiment_ids\": 5}", "experiment_ids")]
    [InlineData("{\"experiment_ids\": {}}", "experiment_ids")]
    public async Task BadListElementsNameTheirIndex(string body, string path)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.StringList("experiment_ids"));
        Assert.Contains($"for parameter '{path}' supplied", e.Message);
    }

    [Fact]
    public async Task NestedMessagesQualifyFieldPaths()
    {
        var args = await Send("{\"metrics\": [{\"key\": \"a\", \"value\": 1, \"timestamp\": 5}, {\"key\": \"b\", \"value\": \"NaN\"}]}");
        var metrics = args.Objects("metrics");
        Assert.Equal(2, metrics.Count);
        Assert.Equal("a", metrics[0].RequiredString("key"));
        Assert.Equal(5, metrics[0].Int64("timestamp"));
        Assert.True(double.IsNaN(metrics[1].Double("value")!.Value));
        Assert.Null(metrics[1].Int64("timestamp"));
        Assert.Equal("metrics[1].timestamp", metrics[1].Qualify("timestamp"));
        Assert.Equal("timestamp", args.Qualify("timestamp"));
    }

    [Fact]
    public async Task MissingNestedRequiredFieldNamesItsPath()
    {
        var args = await Send("{\"metrics\": [{\"key\": \"a\"}, {\"value\": 1}]}");
        var e = MlflowAssert.Throws(() => args.Objects("metrics")[1].RequiredString("key"));
        Assert.Equal("Missing value for required parameter 'metrics[1].key'. See the API docs for more information about request parameters.", e.Message);
    }

    [Fact]
    public async Task BadNestedValueNamesItsPath()
    {
        var args = await Send("{\"metrics\": [{\"key\": \"a\", \"value\": 1, \"timestamp\": \"soon\"}]}");
        var e = MlflowAssert.Throws(() => args.Objects("metrics")[0].Int64("timestamp"));
        Assert.Equal($"Invalid value \"soon\" for parameter 'metrics[0].timestamp' supplied:  Hint: Value was of type 'str'{MissingSuffix}", e.Message);
    }

    [Fact]
    public async Task DoublyNestedPaths()
    {
        var args = await Send("{\"datasets\": [{\"tags\": [], \"dataset\": {\"name\": \"d\"}}]}");
        var dataset = args.Objects("datasets")[0].Object("dataset")!;
        Assert.Equal("d", dataset.String("name"));
        var e = MlflowAssert.Throws(() => dataset.RequiredString("digest"));
        Assert.Equal("Missing value for required parameter 'datasets[0].dataset.digest'. See the API docs for more information about request parameters.", e.Message);
    }

    [Theory]
    [InlineData("{\"tags\": [\"x\"]}", "tags[0]")]
    [InlineData("{\"tags\": [{}, 5]}", "tags[1]")]
    [InlineData("{\"tags\": {\"key\": \"a\"}}", "tags")]
    [InlineData("{\"tags\": \"a\"}", "tags")]
    public async Task NonObjectElementsOfMessageListsAreRejected(string body, string path)
    {
        var args = await Send(body);
        var e = MlflowAssert.Throws(() => args.Objects("tags"));
        Assert.Contains($"for parameter '{path}' supplied", e.Message);
    }

    [Theory]
    [InlineData("{\"dataset\": 5}")]
    [InlineData("{\"dataset\": [{}]}")]
    [InlineData("{\"dataset\": \"{}\"}")]
    public async Task NonObjectNestedMessagesAreRejected(string body)
    {
        var args = await Send(body);
        MlflowAssert.Throws(() => args.Object("dataset"));
    }

    [Fact]
    public async Task CamelCaseInsideNestedMessages()
    {
        var args = await Send("{\"metrics\": [{\"key\": \"k\", \"value\": 1, \"timestamp\": 1, \"step\": 2, \"runId\": \"r\"}]}");
        Assert.Equal("r", args.Objects("metrics")[0].RunId());
    }

    [Fact]
    public async Task RawReturnsTheJsonValue()
    {
        var args = await Send("{\"model_json\": {\"a\": [1, 2]}}");
        Assert.Equal("{\"a\": [1, 2]}", args.Raw("model_json")!.Value.GetRawText());
        Assert.Null(args.Raw("absent"));
    }

    /// <summary>Found by the fuzz workload: <c>{"name":"\ud800"}</c> made <c>GetString</c> throw, answered 500.</summary>
    [Theory]
    [InlineData("""{"name": "\ud800"}""", "name")]
    [InlineData("""{"experiment_ids": ["1", "a\udc00"]}""", "experiment_ids[1]")]
    [InlineData("\"{\\\"name\\\": 1}\\ud800\"", null)]
    public async Task AnUnpairedSurrogateEscapeIsAnInvalidValue(string body, string? field)
    {
        var error = await Rejects(async () =>
        {
            var args = await Send(body);
            _ = args.String("name");
            _ = args.StringList("experiment_ids");
            return args;
        });
        Assert.Equal(ErrorCode.InvalidParameterValue, error.Code);
        Assert.Contains(field is null ? "unpaired surrogate" : $"'{field}'", error.Message);
    }
}
