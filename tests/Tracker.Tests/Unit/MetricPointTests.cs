using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class MetricPointTests
{
    // (step, timestamp, value) of a and b, and the sign of HistoryOrder(a, b): timestamp, then step, then value.
    [Theory]
    [InlineData(0L, 1L, 0.0, 0L, 2L, 0.0, -1)]
    [InlineData(9L, 1L, 9.0, 0L, 2L, 0.0, -1)]
    [InlineData(1L, 5L, 0.0, 2L, 5L, 0.0, -1)]
    [InlineData(2L, 5L, -9.0, 1L, 5L, 9.0, 1)]
    [InlineData(1L, 5L, 1.0, 1L, 5L, 2.0, -1)]
    [InlineData(1L, 5L, 2.0, 1L, 5L, 1.0, 1)]
    [InlineData(1L, 5L, 2.0, 1L, 5L, 2.0, 0)]
    [InlineData(-1L, 5L, 0.0, 0L, 5L, 0.0, -1)]
    // NaN compares as 0 (MLflow stores it as 0 with is_nan).
    [InlineData(1L, 5L, double.NaN, 1L, 5L, 0.0, 0)]
    [InlineData(1L, 5L, double.NaN, 1L, 5L, -1.0, 1)]
    [InlineData(1L, 5L, double.NaN, 1L, 5L, 1.0, -1)]
    [InlineData(1L, 5L, double.NaN, 1L, 5L, double.NaN, 0)]
    [InlineData(1L, 5L, double.NegativeInfinity, 1L, 5L, double.MinValue, -1)]
    public void HistoryOrderIsTimestampStepValue(long s1, long t1, double v1, long s2, long t2, double v2, int sign)
    {
        var a = new MetricPoint(s1, t1, v1);
        var b = new MetricPoint(s2, t2, v2);
        Assert.Equal(sign, Math.Sign(MetricPoint.HistoryOrder(a, b)));
        Assert.Equal(-sign, Math.Sign(MetricPoint.HistoryOrder(b, a)));
    }

    // Same convention for StepOrder: step, then timestamp, then value.
    [Theory]
    [InlineData(0L, 9L, 0.0, 1L, 0L, 0.0, -1)]
    [InlineData(1L, 1L, 0.0, 1L, 2L, -5.0, -1)]
    [InlineData(1L, 1L, 3.0, 1L, 1L, 2.0, 1)]
    [InlineData(1L, 1L, double.NaN, 1L, 1L, 0.0, 0)]
    [InlineData(1L, 1L, double.NaN, 1L, 1L, 0.5, -1)]
    public void StepOrderIsStepTimestampValue(long s1, long t1, double v1, long s2, long t2, double v2, int sign) =>
        Assert.Equal(sign, Math.Sign(MetricPoint.StepOrder(new MetricPoint(s1, t1, v1), new MetricPoint(s2, t2, v2))));

    [Fact]
    public void SortingByHistoryOrderMatchesMlflowsOrderBy()
    {
        var points = new List<MetricPoint>
        {
            new(2, 10, 1), new(1, 10, 5), new(1, 10, double.NaN), new(1, 10, -1), new(0, 20, 0), new(5, 5, 100),
        };
        points.Sort(MetricPoint.HistoryOrder);
        Assert.Equal(
            ["5/5/100", "1/10/-1", "1/10/NaN", "1/10/5", "2/10/1", "0/20/0"],
            points.Select(p => FormattableString.Invariant($"{p.Step}/{p.Timestamp}/{p.Value}")));
    }

    [Theory]
    [InlineData(double.NaN, 0.0)]
    [InlineData(0.0, 0.0)]
    [InlineData(-3.5, -3.5)]
    [InlineData(double.PositiveInfinity, double.PositiveInfinity)]
    public void ComparableValueTreatsNaNAsZero(double value, double comparable) =>
        Assert.Equal(comparable, new MetricPoint(0, 0, value).ComparableValue);

    [Theory]
    [InlineData(1L, 2L, 3.0, 1L, 2L, 3.0, true)]
    [InlineData(1L, 2L, double.NaN, 1L, 2L, double.NaN, true)]
    [InlineData(1L, 2L, 0.0, 1L, 2L, -0.0, false)]
    [InlineData(1L, 2L, double.NaN, 1L, 2L, 0.0, false)]
    [InlineData(1L, 2L, 3.0, 2L, 2L, 3.0, false)]
    [InlineData(1L, 2L, 3.0, 1L, 3L, 3.0, false)]
    [InlineData(1L, 2L, 3.0, 1L, 2L, 3.0000000000000004, false)]
    [InlineData(1L, 2L, double.PositiveInfinity, 1L, 2L, double.PositiveInfinity, true)]
    [InlineData(1L, 2L, double.PositiveInfinity, 1L, 2L, double.MaxValue, false)]
    public void SameAsIsExactIdentity(long s1, long t1, double v1, long s2, long t2, double v2, bool same)
    {
        var a = new MetricPoint(s1, t1, v1);
        var b = new MetricPoint(s2, t2, v2);
        Assert.Equal(same, a.SameAs(b));
        Assert.Equal(same, b.SameAs(a));
    }
}
