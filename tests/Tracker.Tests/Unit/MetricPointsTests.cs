using System.Text.RegularExpressions;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class MetricPointsTests
{
    private static readonly Regex TablePropertyName = new("^[A-Za-z][A-Za-z0-9]{0,254}$");

    public static TheoryData<long, long, double> Points => new()
    {
        { 0, 0, 0.0 },
        { 1, 1700000000000, 0.5 },
        { -1, 0, double.NaN },
        { -5, 3, -2.25 },
        { long.MaxValue, long.MaxValue, double.MaxValue },
        { long.MinValue, 0, -double.MaxValue },
        { 0, long.MinValue, double.Epsilon },
        { 7, 8, double.PositiveInfinity },
        { 7, 8, double.NegativeInfinity },
        { 7, 8, -0.0 },
    };

    [Theory]
    [MemberData(nameof(Points))]
    public void OnePointRoundTripsBitForBit(long step, long timestamp, double value)
    {
        var decoded = new List<MetricPoint>();
        MetricPoints.Unpack(MetricPoints.Pack([new MetricPoint(step, timestamp, value)]), decoded);
        var p = Assert.Single(decoded);
        Assert.Equal(step, p.Step);
        Assert.Equal(timestamp, p.Timestamp);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(p.Value));
    }

    [Fact]
    public void ManyPointsRoundTripInOrder()
    {
        var points = Points.Select(row => new MetricPoint((long)row[0], (long)row[1], (double)row[2])).ToList();
        var decoded = new List<MetricPoint>();
        MetricPoints.Unpack(MetricPoints.Pack(points), decoded);
        Assert.Equal(points.Count, decoded.Count);
        for (var i = 0; i < points.Count; i++) Assert.True(points[i].SameAs(decoded[i]), $"point {i}");
    }

    [Fact]
    public void NaNPayloadBitsSurvive()
    {
        var nan = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_1234);
        var decoded = new List<MetricPoint>();
        MetricPoints.Unpack(MetricPoints.Pack([new MetricPoint(1, 2, nan)]), decoded);
        Assert.Equal(0x7FF8_0000_0000_1234, BitConverter.DoubleToInt64Bits(decoded[0].Value));
    }

    [Fact]
    public void EmptyListPacksToNoBytes() => Assert.Empty(MetricPoints.Pack([]));

    [Fact]
    public void UnpackAppendsToTheList()
    {
        var into = new List<MetricPoint> { new(9, 9, 9) };
        MetricPoints.Unpack(MetricPoints.Pack([new MetricPoint(1, 1, 1), new MetricPoint(2, 2, 2)]), into);
        Assert.Equal([9L, 1L, 2L], into.Select(p => p.Step));
    }

    [Fact]
    public void PropertySizesFitTableLimits()
    {
        Assert.InRange(MetricPoints.MaxPropertyBytes, 1, 64 * 1024);
        // Packed at their longest (28 bytes: two 10-byte varints and the value), a compacted row stays under 1 MiB.
        Assert.InRange(MetricPoints.MaxBytesPerRow, MetricPoints.MaxPropertyBytes, 1000 * 1024);
        Assert.InRange(MetricPoints.MaxPropertiesPerBatchRow, MetricPoints.MaxPiecesPerKey, 252);
    }

    // ---- key hashing and row names ----------------------------------------------------------------------------

    [Theory]
    // First 16 bytes of SHA-256 over the UTF-8 key.
    [InlineData("a", "ca978112ca1bbdcafac231b39a23dc4d")]
    [InlineData("A", "559aead08264d5795d3909718cdd05ab")]
    [InlineData("größe", "d353a2671b67afff0941ae456e5c76e9")]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb924")]
    public void KeyHashIsTruncatedSha256(string key, string hash) => Assert.Equal(hash, MetricPoints.KeyHash(key));

    [Theory]
    [InlineData("a")]
    [InlineData("train/loss")]
    [InlineData("with space:and colon")]
    [InlineData("größe")]
    [InlineData("a#b?c\\d/e")]
    [InlineData("")]
    public void KeyHashIs32LowercaseHexAndDeterministic(string key)
    {
        var hash = MetricPoints.KeyHash(key);
        Assert.Matches("^[0-9a-f]{32}$", hash);
        Assert.Equal(hash, MetricPoints.KeyHash(new string(key.ToCharArray())));
    }

    [Theory]
    [InlineData("a", "A")]
    [InlineData("loss", "loss ")]
    [InlineData("a/b", "a_b")]
    [InlineData("m1", "m2")]
    public void DifferentKeysHashDifferently(string a, string b) => Assert.NotEqual(MetricPoints.KeyHash(a), MetricPoints.KeyHash(b));

    [Theory]
    [InlineData("a")]
    [InlineData("0starts-with-digit")]
    [InlineData("train/loss")]
    [InlineData("a#b?c\\d")]
    [InlineData("größe")]
    [InlineData("")]
    public void KeyPropertyIsAValidTablePropertyName(string key)
    {
        var name = MetricPoints.KeyProperty(key);
        Assert.Matches(TablePropertyName, name);
        Assert.Equal("h" + MetricPoints.KeyHash(key), name);
    }

    [Fact]
    public void KeyPropertyOfAMaximalKeyIsValid() => Assert.Matches(TablePropertyName, MetricPoints.KeyProperty(new string('k', 250)));

    [Fact]
    public void PiecePropertiesAreValidAndMapBackToTheirKey()
    {
        var key = MetricPoints.KeyProperty("loss");
        var pieces = MetricPoints.PieceProperties(key);
        Assert.Equal(MetricPoints.MaxPiecesPerKey, pieces.Length);
        Assert.Equal(key, pieces[0]);
        Assert.All(pieces, p => Assert.Matches(TablePropertyName, p));
        Assert.All(pieces, p => Assert.Equal(key, MetricPoints.KeyPropertyOf(p)));
        Assert.Equal(pieces.Length, pieces.Distinct().Count());
    }

    [Fact]
    public void RowPrefixes()
    {
        Assert.Equal("u:", MetricPoints.BatchRowPrefix);
        Assert.Equal("c:", MetricPoints.CompactedRowPrefix);
    }

    [Theory]
    [InlineData("u:abc:", "u:abc;")]
    [InlineData("c:r:0123:", "c:r:0123;")]
    public void PrefixEndReplacesTheTrailingColon(string prefix, string end) => Assert.Equal(end, MetricPoints.PrefixEnd(prefix));

    [Theory]
    [InlineData("u:abc:", true)]
    [InlineData("u:abc:0", true)]
    [InlineData("u:abc:06385000000000000000deadbeef", true)]
    [InlineData("u:abc:zzzz", true)]
    [InlineData("u:abc:\uffff", true)]
    [InlineData("u:abc:x:y", true)]
    [InlineData("u:abc", false)]
    [InlineData("u:abc;", false)]
    [InlineData("u:abcd:x", false)]
    [InlineData("u:abc0:x", false)]
    [InlineData("u:ab:x", false)]
    [InlineData("v:abc:x", false)]
    public void PrefixRangeContainsExactlyTheRowsOfThePrefix(string rowKey, bool inRange)
    {
        var prefix = "u:abc:"; // the shape of every prefix: it ends in ':'

        var end = MetricPoints.PrefixEnd(prefix);
        var within = string.CompareOrdinal(rowKey, prefix) >= 0 && string.CompareOrdinal(rowKey, end) < 0;
        Assert.Equal(inRange, within);
        Assert.Equal(rowKey.StartsWith(prefix, StringComparison.Ordinal), within);
    }

    [Fact]
    public void UniqueSuffixesAreTimeOrderedAndDistinct()
    {
        var a = MetricPoints.UniqueSuffix();
        var b = MetricPoints.UniqueSuffix();
        Assert.Matches("^[0-9]{19}[0-9a-f]{8}$", a);
        Assert.NotEqual(a, b);
        Assert.True(string.CompareOrdinal(a[..19], b[..19]) <= 0);
    }
}
