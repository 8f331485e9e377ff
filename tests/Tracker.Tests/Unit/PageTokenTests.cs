using System.Buffers.Text;
using Tracker.Core;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class PageTokenTests
{
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] OtherKey = Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray();
    private static readonly PageQuery Query = PageQuery.Of("runs/search", ["1", "2"], ["metrics.acc > 0.5"], ["ActiveOnly"], ["metrics.acc DESC"]);

    private static int Decode(string? token, PageQuery? query = null, byte[]? key = null) => PageToken.Parse(token, key ?? Key, query ?? Query).Offset;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(1000)]
    [InlineData(50000)]
    [InlineData(int.MaxValue)]
    public void EncodeDecodeRoundTrips(int offset) => Assert.Equal(offset, Decode(new PageToken(offset).Encode(Key, Query)));

    [Fact]
    public void TheSnapshotRoundTrips()
    {
        var snapshot = Guid.NewGuid();
        Assert.Equal(new PageToken(7, snapshot), PageToken.Parse(new PageToken(7, snapshot).Encode(Key, Query), Key, Query));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void NoTokenIsTheFirstPage(string? token) => Assert.Equal(0, Decode(token));

    [Fact]
    public void TokensAreShortAndSafeInAQueryString()
    {
        var tokens = new[] { new PageToken(int.MaxValue).Encode(Key, Query), new PageToken(int.MaxValue, Guid.NewGuid()).Encode(Key, Query) };
        Assert.All(tokens, t => Assert.Matches("^[A-Za-z0-9_-]{20,64}$", t));
    }

    [Fact]
    public void ATokenFromAnotherQueryIsRefused()
    {
        var token = new PageToken(4).Encode(Key, Query);
        PageQuery[] others =
        [
            PageQuery.Of("runs/search", ["1"], ["metrics.acc > 0.5"], ["ActiveOnly"], ["metrics.acc DESC"]),
            PageQuery.Of("runs/search", ["1", "2"], ["metrics.acc > 0.6"], ["ActiveOnly"], ["metrics.acc DESC"]),
            PageQuery.Of("runs/search", ["1", "2"], ["metrics.acc > 0.5"], ["All"], ["metrics.acc DESC"]),
            PageQuery.Of("runs/search", ["1", "2"], ["metrics.acc > 0.5"], ["ActiveOnly"], []),
            PageQuery.Of("experiments/search", ["1", "2"], ["metrics.acc > 0.5"], ["ActiveOnly"], ["metrics.acc DESC"]),
        ];
        foreach (var other in others)
            Assert.StartsWith("Invalid page token: it was not issued by this server for this query", MlflowAssert.Throws(() => Decode(token, other)).Message);
        Assert.Equal(4, Decode(token, PageQuery.Of("runs/search", ["1", "2"], ["metrics.acc > 0.5"], ["ActiveOnly"], ["metrics.acc DESC"])));
    }

    [Fact]
    public void ATokenUnderAnotherKeyIsRefused()
    {
        var token = new PageToken(4).Encode(OtherKey, Query);
        Assert.StartsWith("Invalid page token", MlflowAssert.Throws(() => Decode(token)).Message);
    }

    [Fact]
    public void EveryFlippedBitIsRefused()
    {
        foreach (var original in new[] { new PageToken(4), new PageToken(4, Guid.NewGuid()) })
        {
            var bytes = Base64Url.DecodeFromChars(original.Encode(Key, Query));
            for (var bit = 0; bit < bytes.Length * 8; bit++)
            {
                var flipped = (byte[])bytes.Clone();
                flipped[bit / 8] ^= (byte)(1 << (bit % 8));
                var token = Base64Url.EncodeToString(flipped);
                Assert.StartsWith("Invalid page token", MlflowAssert.Throws(() => Decode(token)).Message);
            }
        }
    }

    /// <summary>Field boundaries are part of the digest: moving a value between fields or list items is another query.</summary>
    [Fact]
    public void QueryDigestsKeepFieldBoundaries()
    {
        PageQuery[] queries =
        [
            PageQuery.Of("s", ["ab"]),
            PageQuery.Of("s", ["a", "b"]),
            PageQuery.Of("s", ["a"], ["b"]),
            PageQuery.Of("s", ["a", "b"], []),
            PageQuery.Of("s", [], ["a", "b"]),
            PageQuery.Of("s", [""]),
            PageQuery.Of("s", new string?[] { null }),
            PageQuery.Of("s", Array.Empty<string?>()),
            PageQuery.Of("s"),
            PageQuery.Of("sa", []),
        ];
        var digests = queries.Select(q => Convert.ToHexString(q.Digest)).ToList();
        Assert.Equal(digests.Count, digests.Distinct().Count());
        Assert.Equal(digests[1], Convert.ToHexString(PageQuery.Of("s", ["a", "b"]).Digest));
    }

    [Theory]
    // Upstream's own unsigned tokens, from Python's base64(json.dumps(...)), and tokens that are not ours at all.
    [InlineData("eyJvZmZzZXQiOiA0fQ==")]
    [InlineData("eyJvZmZzZXQiOiAxMDB9")]
    [InlineData("garbage")]
    [InlineData("!!!!")]
    [InlineData("%%%%")]
    [InlineData(" ")]
    [InlineData("AQAAAAQ")]
    public void ForeignAndMalformedTokensAreRefused(string token) =>
        Assert.StartsWith("Invalid page token", MlflowAssert.Throws(() => Decode(token)).Message);

    [Fact]
    public void AnUnknownFormatIsRefusedEvenWithAValidTag()
    {
        var bytes = Base64Url.DecodeFromChars(new PageToken(4).Encode(Key, Query));
        bytes[0] = 3;
        Assert.StartsWith("Invalid page token", MlflowAssert.Throws(() => Decode(Base64Url.EncodeToString(bytes))).Message);
    }

    [Fact]
    public void AMalformedTokenIsQuotedAndCut()
    {
        Assert.Equal("Invalid page token, could not base64-decode or parse: 'garbage'", MlflowAssert.Throws(() => Decode("garbage")).Message);
        var huge = new string('t', 300_000);
        Assert.True(MlflowAssert.Throws(() => Decode(huge)).Message.Length < 400);
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
    public void NextIsNullOnTheLastPage(int offset, int pageSize, int total, int? next)
    {
        var token = PageToken.Next(offset, pageSize, total, Key, Query);
        Assert.Equal(next, token is null ? null : Decode(token));
    }

    [Fact]
    public void PagingThroughVisitsEveryOffsetOnce()
    {
        var seen = new List<int>();
        string? token = null;
        do
        {
            var offset = Decode(token);
            seen.AddRange(Enumerable.Range(offset, Math.Min(7, 23 - offset)));
            token = PageToken.Next(offset, 7, 23, Key, Query);
        } while (token is not null);
        Assert.Equal(Enumerable.Range(0, 23), seen);
    }

    [Fact]
    public void ErrorsAreInvalidParameterValue() =>
        Assert.Equal(ErrorCode.InvalidParameterValue, Assert.Throws<MlflowException>(() => Decode("garbage")).Code);

}
