using System.Text;
using Tracker.Core;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class PageTokenTests
{
    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void TokenMatchesUpstreamsBase64OfJson() => Assert.Equal("eyJvZmZzZXQiOiA0fQ==", new PageToken(4).Encode());

    [Theory]
    [InlineData(0, "{\"offset\": 0}")]
    [InlineData(4, "{\"offset\": 4}")]
    [InlineData(1000, "{\"offset\": 1000}")]
    public void TokenIsBase64OfUpstreamsJson(int offset, string json) =>
        Assert.Equal(json, Encoding.UTF8.GetString(Convert.FromBase64String(new PageToken(offset).Encode())));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(1000)]
    [InlineData(50000)]
    [InlineData(int.MaxValue)]
    public void EncodeDecodeRoundTrips(int offset) => Assert.Equal(offset, PageToken.Decode(new PageToken(offset).Encode()));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void NoTokenIsTheFirstPage(string? token) => Assert.Equal(0, PageToken.Decode(token));

    [Theory]
    // Upstream's own tokens, from Python's base64(json.dumps(...)).
    [InlineData("eyJvZmZzZXQiOiA0fQ==", 4)]
    [InlineData("eyJvZmZzZXQiOiAxMDB9", 100)]
    public void DecodesUpstreamTokens(string token, int offset) => Assert.Equal(offset, PageToken.Decode(token));

    [Theory]
    [InlineData("garbage")]
    [InlineData("!!!!")]
    [InlineData("eyJvZmZzZXQiOiA0fQ")]
    [InlineData("eyJvZmZzZXQiOiA0fQ==x")]
    [InlineData("%%%%")]
    [InlineData(" ")]
    public void NonBase64TokensAreInvalid(string token)
    {
        var e = MlflowAssert.Throws(() => PageToken.Decode(token));
        Assert.StartsWith("Invalid page token", e.Message);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{")]
    [InlineData("{\"offset\": }")]
    [InlineData("{\"offset\": -1}")]
    [InlineData("{\"offset\": -2147483648}")]
    [InlineData("{\"offset\": 4.5}")]
    [InlineData("{\"offset\": 99999999999}")]
    [InlineData("{}")]
    [InlineData("{\"offst\": 4}")]
    public void Base64OfAnythingButANonNegativeOffsetIsInvalid(string json)
    {
        var token = Base64(json);
        var e = MlflowAssert.Throws(() => PageToken.Decode(token));
        Assert.StartsWith("Invalid page token", e.Message);
    }

    [Theory]
    [InlineData("{\"offset\": null}")]
    [InlineData("{\"offset\": true}")]
    [InlineData("[4]")]
    [InlineData("4")]
    [InlineData("null")]
    [InlineData("\"offset\"")]
    public void Base64OfJsonThatIsNotAnObjectOrHasANonNumericOffsetIsInvalid(string json)
    {
        var e = MlflowAssert.Throws(() => PageToken.Decode(Base64(json)));
        Assert.StartsWith("Invalid page token", e.Message);
    }

    [Fact]
    public void InvalidTokenIsQuotedInTheMessage()
    {
        var e = MlflowAssert.Throws(() => PageToken.Decode("garbage"));
        Assert.Equal("Invalid page token, could not base64-decode or parse: 'garbage'", e.Message);
    }

    [Theory]
    [InlineData(0, 10, 25, 10)]
    [InlineData(10, 10, 25, 20)]
    [InlineData(20, 10, 25, null)]
    [InlineData(0, 10, 10, null)]
    [InlineData(0, 10, 11, 10)]
    [InlineData(0, 10, 0, null)]
    [InlineData(5, 1, 7, 6)]
    [InlineData(30, 10, 25, null)]
    public void NextIsNullOnTheLastPage(int offset, int pageSize, int total, int? next) =>
        Assert.Equal(next is { } n ? new PageToken(n).Encode() : null, PageToken.Next(offset, pageSize, total));

    [Fact]
    public void PagingThroughVisitsEveryOffsetOnce()
    {
        var seen = new List<int>();
        string? token = null;
        do
        {
            var offset = PageToken.Decode(token);
            seen.AddRange(Enumerable.Range(offset, Math.Min(7, 23 - offset)));
            token = PageToken.Next(offset, 7, 23);
        } while (token is not null);
        Assert.Equal(Enumerable.Range(0, 23), seen);
    }

    [Fact]
    public void ErrorsAreInvalidParameterValue() =>
        Assert.Equal(ErrorCode.InvalidParameterValue, Assert.Throws<MlflowException>(() => PageToken.Decode("garbage")).Code);
}
