using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class PackedPointsTests
{
    public static TheoryData<long[], long[], double[]> Series => new()
    {
        { [0, 1, 2, 3], [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_005], [1.0, 0.5, double.NaN, -0.0] },
        { [long.MinValue, long.MaxValue, 0, -1], [0, long.MaxValue, 0, 1], [double.MaxValue, double.MinValue, double.Epsilon, 0.1] },
        { [5, 3, 1_000_000_000_000, -7], [10, 9, 8, 7], [1e-300, -1e300, 42, 7] },
    };

    [Theory]
    [MemberData(nameof(Series))]
    public void PackUnpackRoundTripsBitForBit(long[] steps, long[] timestamps, double[] values)
    {
        var points = steps.Select((s, i) => new MetricPoint(s, timestamps[i], values[i])).ToList();
        var unpacked = new List<MetricPoint>();
        MetricPoints.Unpack(MetricPoints.Pack(points), unpacked);
        Assert.Equal(points.Count, unpacked.Count);
        for (var i = 0; i < points.Count; i++) Assert.True(points[i].SameAs(unpacked[i]), $"point {i}: {points[i]} vs {unpacked[i]}");
    }

    [Fact]
    public void SteadilyAdvancingPointsTakeElevenBytes()
    {
        var points = Enumerable.Range(0, 1000).Select(i => new MetricPoint(i, 1_700_000_000_000 + i, i * 0.001)).ToList();
        // The first point: step 0 (1 byte), the timestamp as a 6-byte varint, the value; then 1 + 1 + 8 bytes a point.
        Assert.Equal(1 + 6 + 8 + 10 * 999, MetricPoints.Pack(points).Length);
    }

    [Fact]
    public void PiecesAreIndependentAndFitATableProperty()
    {
        var points = Enumerable.Range(0, 10_000).Select(i => new MetricPoint(long.MaxValue - i * 7919L, long.MinValue + i, i)).ToList();
        var pieces = MetricPoints.PackPieces(points);
        Assert.True(pieces.Count > 1);
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, MetricPoints.MaxPropertyBytes));
        var unpacked = new List<MetricPoint>();
        foreach (var piece in pieces) MetricPoints.Unpack(piece, unpacked);
        Assert.Equal(points, unpacked);
    }

    [Theory]
    [InlineData(new byte[] { 0x80 })]
    [InlineData(new byte[] { 0x02, 0x02, 0x00, 0x00 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]
    public void TruncatedOrMalformedDataIsRejected(byte[] bytes) =>
        Assert.Throws<InvalidDataException>(() => MetricPoints.Unpack(bytes, []));

}
