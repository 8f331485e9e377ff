using Azure.Data.Tables;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class PointBufferTests
{
    private static List<(string Key, List<MetricPoint> Points)> Batch(string key, int from, int count) =>
        [(key, Enumerable.Range(from, count).Select(i => new MetricPoint(i, 1000 + i, i * 0.5)).ToList())];

    [Fact]
    public void BatchesExtendTheLastPartUntilItIsFull()
    {
        var buffer = PointBuffer.Empty();
        buffer.Add(Batch("loss", 0, 1));
        buffer.Add(Batch("loss", 1, 1));
        buffer.Add(Batch("acc", 0, 30));
        var row = new TableEntity("p", "r");
        buffer.WriteTo(row, changedOnly: false);
        Assert.Equal(["B0"], row.Keys.Where(k => k.StartsWith('B')));
        var loss = new List<MetricPoint>();
        buffer.CollectPoints("loss", loss);
        Assert.Equal([0L, 1], loss.Select(p => p.Step));
    }

    [Fact]
    public void AMergeCarriesOnlyWhatThisChangeTouched()
    {
        var stored = new TableEntity("p", "r") { ["B0"] = new byte[100], ["B1"] = new byte[100] };
        var next = PointBuffer.From(stored);
        next.Add(Batch("loss", 200, 1));
        var merge = new TableEntity("p", "r");
        next.WriteTo(merge, changedOnly: true);
        Assert.Equal(["B1"], merge.Keys.Where(k => k.StartsWith('B'))); // B0 is already stored and unchanged
    }

    [Fact]
    public void PointsComeBackPerKeyAndTakeAllEmptiesIt()
    {
        var buffer = PointBuffer.Empty();
        buffer.Add([.. Batch("loss", 0, 3), .. Batch("a/b c", 0, 2)]);
        buffer.Add(Batch("loss", 3, 1));
        var loss = new List<MetricPoint>();
        buffer.CollectPoints("loss", loss);
        Assert.Equal([0L, 1, 2, 3], loss.Select(p => p.Step));

        var all = buffer.TakeAll();
        Assert.Equal(new[] { MetricPoints.KeyProperty("loss"), MetricPoints.KeyProperty("a/b c") }.Order(), all.Keys.Order());
        Assert.Equal(4, all[MetricPoints.KeyProperty("loss")].Count);
        Assert.True(buffer.Cleared);
        Assert.Equal(0, buffer.Bytes);
    }

    [Fact]
    public void FillsUpAfterAFewHundredSinglePoints()
    {
        var buffer = PointBuffer.Empty();
        var points = 0;
        for (; !buffer.IsFull; points++) buffer.Add(Batch("loss", points, 1));
        Assert.InRange(points, 100, 1000);
        Assert.InRange(buffer.Bytes, PointBuffer.FlushBytes, PointBuffer.FlushBytes + 64);
        // A document at its limit plus a full buffer and one more batch still fits an entity's 1 MiB.
        Assert.True(DocumentColumns.MaxDocumentBytes + buffer.Bytes + PointBuffer.MaxBatchPoints * 45 < 1024 * 1024);
    }
}
