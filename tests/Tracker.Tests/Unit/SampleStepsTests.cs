using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

/// <summary><c>TrackingStore.SampleSteps</c>: MLflow's <c>_get_sampled_steps_from_steps</c>, bounds as absolute indexes.</summary>
public class SampleStepsTests
{
    private static List<long> Range(long start, long stop, long step = 1)
    {
        var list = new List<long>();
        for (var i = start; i < stop; i += step) list.Add(i);
        return list;
    }

    public static TheoryData<long, long, int, List<long>, long[]> Vectors => new()
    {
        // Upstream's test vectors (tests/server/test_handlers.py).
        { 0, 10, 5, Range(0, 10), [0, 2, 4, 6, 8, 9] },
        { 4, 8, 5, Range(0, 10), [4, 5, 6, 7, 8] },
        { 0, 100, 5, Range(0, 101, 20), [0, 20, 40, 60, 80, 100] },
        { 0, 1000, 5, Range(0, 1001, 10), [0, 200, 400, 600, 800, 1000] },
        { 1000, 1100, 50, Range(900, 1200), [.. Range(1000, 1101, 2)] },
        // A window that starts past max_results steps in: upstream compared absolute indexes with the window size and
        // kept only the last step here.
        { 50, 100, 5, Range(0, 100), [50, 60, 70, 80, 90, 99] },
        // Everything fits: every step in range is kept.
        { 0, 9, 10, Range(0, 10), [.. Range(0, 10)] },
        { 3, 3, 5, Range(0, 10), [3] },
        // Bounds that fall between steps.
        { 5, 35, 10, Range(0, 101, 10), [10, 20, 30] },
        // Negative steps.
        { -10, -1, 100, Range(-20, 0), [.. Range(-10, 0)] },
        // Nothing in range.
        { 20, 30, 5, Range(0, 10), [] },
        { 0, 10, 5, [], [] },
        // One sample: the first and (always) the last step.
        { 0, 9, 1, Range(0, 10), [0, 9] },
        // Open end.
        { 0, long.MaxValue, 5, Range(0, 10), [0, 2, 4, 6, 8, 9] },
        { long.MinValue, long.MaxValue, 3, [long.MinValue, -1, 0, 1, long.MaxValue], [long.MinValue, -1, 1, long.MaxValue] },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void SamplesLikeMlflow(long start, long end, int maxResults, List<long> allSteps, long[] expected) =>
        Assert.Equal(expected.Order(), TrackingStore.SampleSteps(start, end, maxResults, allSteps).Order());

    [Theory]
    [InlineData(0, 10_000, 2500)]
    [InlineData(0, 100_000, 320)]
    [InlineData(12_345, 67_890, 7)]
    public void NeverReturnsMoreThanMaxResultsPlusTheLastStep(long start, long end, int maxResults)
    {
        var steps = Range(0, 100_001);
        var sampled = TrackingStore.SampleSteps(start, end, maxResults, steps);
        Assert.InRange(sampled.Count, 1, maxResults + 1);
        Assert.Contains(start, sampled);
        Assert.Contains(end, sampled);
        Assert.All(sampled, s => Assert.InRange(s, start, end));
    }
}
