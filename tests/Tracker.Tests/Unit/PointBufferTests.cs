using Azure.Data.Tables;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class PointBufferTests
{
    private static List<(string Key, List<MetricPoint> Points)> Batch(string key, int from, int count) =>
        [(key, Enumerable.Range(from, count).Select(i => new MetricPoint(i, 1000 + i, i * 0.5)).ToList())];

    [Fact]
    public void SmallBatchesShareAPartAndLargeOnesTakeTheirOwn()
    {
        var buffer = PointBuffer.Empty();
        buffer.Add(Batch("loss", 0, 1));
        buffer.Add(Batch("loss", 1, 1));
        buffer.Add(Batch("acc", 0, 500));
        buffer.Add(Batch("loss", 2, 1));
        var row = new TableEntity("p", "r");
        buffer.WriteTo(row, changedOnly: false);
        // loss, loss share B0; the 500-point batch takes B1; the last small batch extends B1.
        Assert.Equal(["B0", "B1"], row.Keys.Where(k => k.StartsWith('B')).Order());
        var loss = new List<MetricPoint>();
        buffer.CollectPoints("loss", loss);
        Assert.Equal([0L, 1, 2], loss.Select(p => p.Step));
    }

    [Fact]
    public void AMergeCarriesOnlyWhatThisChangeTouched()
    {
        var stored = new TableEntity("p", "r");
        var first = PointBuffer.Empty();
        first.Add(Batch("loss", 0, 100));
        first.Add(Batch("loss", 100, 100));
        first.WriteTo(stored, changedOnly: false);

        var next = PointBuffer.From(stored);
        next.Add(Batch("loss", 200, 100));
        var merge = new TableEntity("p", "r");
        next.WriteTo(merge, changedOnly: true);
        Assert.Equal(["B2"], merge.Keys.Where(k => k.StartsWith('B')));
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
    public void FillsUpBeforeARowCanOverflow()
    {
        var buffer = PointBuffer.Empty();
        var batches = 0;
        for (; !buffer.IsFull; batches++) buffer.Add(Batch("loss", batches * 1000, 1000));
        // Full within the byte budget, and a document at its limit plus a full buffer plus one more batch still fits.
        Assert.InRange(buffer.Bytes, PointBuffer.FlushBytes, PointBuffer.FlushBytes + 64 * 1024);
        Assert.True(DocumentColumns.MaxDocumentBytes + buffer.Bytes + 64 * 1024 < 1024 * 1024);
        Assert.True(batches > 1);
    }
}
