using Tracker.Core.Search;

namespace Tracker.Tests.Search;

public class RunOrderingTests
{
    [Theory]
    [InlineData("metrics.acc", SearchEntityType.Metric, "acc", true)]
    [InlineData("metrics.acc DESC", SearchEntityType.Metric, "acc", false)]
    [InlineData("metrics.acc desc", SearchEntityType.Metric, "acc", false)]
    [InlineData("metric.acc ASC", SearchEntityType.Metric, "acc", true)]
    [InlineData("metrics.acc aSc", SearchEntityType.Metric, "acc", true)]
    [InlineData("  metrics.acc   DESC  ", SearchEntityType.Metric, "acc", false)]
    [InlineData("params.lr", SearchEntityType.Param, "lr", true)]
    [InlineData("param.lr DESC", SearchEntityType.Param, "lr", false)]
    [InlineData("tags.`mlflow.runName` DESC", SearchEntityType.Tag, "mlflow.runName", false)]
    [InlineData("tags.mlflow.runName", SearchEntityType.Tag, "mlflow.runName", true)]
    [InlineData("tags.\"my tag\" ASC", SearchEntityType.Tag, "my tag", true)]
    [InlineData("`metrics`.`val acc` DESC", SearchEntityType.Metric, "val acc", false)]
    [InlineData("attributes.start_time", SearchEntityType.Attribute, "start_time", true)]
    [InlineData("attribute.end_time DESC", SearchEntityType.Attribute, "end_time", false)]
    [InlineData("attr.status", SearchEntityType.Attribute, "status", true)]
    [InlineData("run.user_id", SearchEntityType.Attribute, "user_id", true)]
    [InlineData("run_id", SearchEntityType.Attribute, "run_id", true)]
    [InlineData("run_name DESC", SearchEntityType.Attribute, "run_name", false)]
    [InlineData("artifact_uri", SearchEntityType.Attribute, "artifact_uri", true)]
    [InlineData("created", SearchEntityType.Attribute, "start_time", true)]
    [InlineData("Created DESC", SearchEntityType.Attribute, "start_time", false)]
    public void ParsesOneKey(string orderBy, SearchEntityType entity, string key, bool ascending) =>
        Assert.Equal(new SearchOrderKey(entity, key, ascending), RunOrdering.Parse([orderBy]).Keys[0]);

    [Theory]
    [InlineData("", "Invalid order_by clause ''. Could not be parsed.")]
    [InlineData("metrics.a, metrics.b", "Invalid order_by clause 'metrics.a, metrics.b'. Could not be parsed.")]
    [InlineData("metrics.a DESC extra", "Invalid order_by clause 'metrics.a DESC extra'. Could not be parsed.")]
    [InlineData("metrics.a; drop", "Invalid order_by clause 'metrics.a; drop'. Could not be parsed.")]
    [InlineData("metrics.`a", "Invalid order_by clause 'metrics.`a'. Could not be parsed.")]
    [InlineData("metrics.a > 1", "Invalid order_by clause 'metrics.a > 1'. Could not be parsed.")]
    [InlineData("metrics.a sideways", "Invalid ordering key in order_by clause 'metrics.a sideways'.")]
    [InlineData("nonsense.a", "Invalid entity type 'nonsense'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']")]
    [InlineData("attributes.foo", "Invalid attribute key 'foo' specified. Valid keys are '{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', 'end_time', 'created', 'Created'}'")]
    [InlineData("attributes.`run name`", "Invalid attribute key 'run name' specified. Valid keys are '{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', 'end_time', 'created', 'Created'}'")]
    [InlineData("dataset.name", "Invalid identifier type 'dataset'")]
    [InlineData("dataset.size", "Invalid dataset key 'size' specified. Valid keys are '{'name', 'digest', 'context'}'")]
    public void RejectsBadKeys(string orderBy, string message) =>
        SearchAssert.Rejects(() => RunOrdering.Parse([orderBy]), message);

    [Theory]
    [InlineData("metrics.a", "metrics.a DESC")]
    [InlineData("created", "attributes.start_time DESC")]
    [InlineData("params.p", "param.p")]
    public void RejectsRepeatedFields(string first, string second) =>
        SearchAssert.Rejects(
            () => RunOrdering.Parse([first, second]),
            $"`order_by` contains duplicate fields: ['{first}', '{second}']");

    [Fact]
    public void SameKeyUnderDifferentEntitiesIsNoRepeat() =>
        Assert.Equal(4, RunOrdering.Parse(["metrics.a", "params.a"]).Keys.Count);

    [Fact]
    public void RejectsTooManyElements() =>
        SearchAssert.Rejects(
            () => RunOrdering.Parse(Enumerable.Range(0, 101).Select(i => $"metrics.m{i}").ToList()),
            "order_by has 101 elements, the maximum is 100.");

    [Fact]
    public void DefaultIsStartTimeDescendingThenRunId()
    {
        Assert.Same(RunOrdering.Default, RunOrdering.Parse(null));
        Assert.Same(RunOrdering.Default, RunOrdering.Parse([]));
        Assert.Equal(
            [new(SearchEntityType.Attribute, "start_time", false), new(SearchEntityType.Attribute, "run_id", true)],
            RunOrdering.Default.Keys);

        var runs = new[] { new FakeRun("b", 1), new FakeRun("c", 2), new FakeRun("a", 1) };

        Assert.Equal("c,a,b", Order(runs, null));
    }

    [Fact]
    public void AppendsTieBreakersUnlessStartTimeIsGiven()
    {
        Assert.Equal(
            [new(SearchEntityType.Metric, "m", true), new(SearchEntityType.Attribute, "start_time", false), new(SearchEntityType.Attribute, "run_id", true)],
            RunOrdering.Parse(["metrics.m"]).Keys);
        Assert.Equal(
            [new(SearchEntityType.Attribute, "start_time", true), new(SearchEntityType.Attribute, "run_id", true)],
            RunOrdering.Parse(["created ASC"]).Keys);
    }

    [Theory]
    // Values in order, then NaN, then missing, whichever the direction.
    [InlineData("metrics.m ASC", "v05,v07,v09,nan,none")]
    [InlineData("metrics.m DESC", "v09,v07,v05,nan,none")]
    public void MetricsPutNanThenMissingLast(string orderBy, string expected)
    {
        var runs = new[]
        {
            WithMetric("nan", double.NaN),
            new FakeRun("none", 10),
            WithMetric("v09", 0.9),
            WithMetric("v05", 0.5),
            WithMetric("v07", 0.7),
        };

        Assert.Equal(expected, Order(runs, [orderBy]));
    }

    [Theory]
    [InlineData("metrics.m ASC", "ninf,zero,pinf")]
    [InlineData("metrics.m DESC", "pinf,zero,ninf")]
    public void InfinitiesAreRealValues(string orderBy, string expected)
    {
        var runs = new[] { WithMetric("zero", 0), WithMetric("pinf", double.PositiveInfinity), WithMetric("ninf", double.NegativeInfinity) };

        Assert.Equal(expected, Order(runs, [orderBy]));
    }

    [Theory]
    [InlineData("params.p ASC", "b10,b2,c,none")]
    [InlineData("params.p DESC", "c,b2,b10,none")]
    [InlineData("tags.t", "b10,b2,c,none")]
    public void StringsCompareOrdinallyAndMissingSortsLast(string orderBy, string expected)
    {
        var runs = new[]
        {
            new FakeRun("none", 10),
            WithParamAndTag("c", "c"),
            WithParamAndTag("b2", "b2"),
            WithParamAndTag("b10", "b10"),
        };

        Assert.Equal(expected, Order(runs, [orderBy]));
    }

    [Theory]
    [InlineData("attributes.end_time ASC", "e1,e2,open")]
    [InlineData("attributes.end_time DESC", "e2,e1,open")]
    public void RunsWithoutEndTimeSortLast(string orderBy, string expected)
    {
        var runs = new[] { new FakeRun("open", 5), new FakeRun("e2", 1) { EndTime = 20 }, new FakeRun("e1", 1) { EndTime = 10 } };

        Assert.Equal(expected, Order(runs, [orderBy]));
    }

    [Fact]
    public void TiesFallThroughToStartTimeDescendingThenRunId()
    {
        var runs = new[]
        {
            WithMetric("x", 1.0, start: 1),
            WithMetric("b", 1.0, start: 5),
            WithMetric("a", 1.0, start: 5),
            WithMetric("nan2", double.NaN, start: 1),
            WithMetric("nan1", double.NaN, start: 9),
        };

        Assert.Equal("a,b,x,nan1,nan2", Order(runs, ["metrics.m DESC"]));
    }

    [Fact]
    public void LaterKeysBreakTiesOfEarlierOnes()
    {
        var runs = new[]
        {
            new FakeRun("r1", 1) { Status = "FINISHED", UserId = "b" },
            new FakeRun("r2", 1) { Status = "FAILED", UserId = "z" },
            new FakeRun("r3", 1) { Status = "FINISHED", UserId = "a" },
        };

        Assert.Equal("r2,r1,r3", Order(runs, ["status", "user_id DESC"]));
        Assert.Equal("r3,r1,r2", Order(runs, ["attributes.status DESC", "attr.user_id"]));
    }

    [Fact]
    public void OrdersByRunNameAndArtifactUri()
    {
        var runs = new[] { new FakeRun("r2", 1) { RunName = "beta" }, new FakeRun("r1", 1) { RunName = "alpha" } };

        Assert.Equal("r1,r2", Order(runs, ["run_name"]));
        Assert.Equal("r2,r1", Order(runs, ["artifact_uri DESC"]));
    }

    private static FakeRun WithMetric(string id, double value, long start = 10) =>
        new(id, start) { LatestMetrics = new Dictionary<string, double> { ["m"] = value } };

    private static FakeRun WithParamAndTag(string id, string value) => new(id, 10)
    {
        Params = new Dictionary<string, string> { ["p"] = value },
        Tags = new Dictionary<string, string> { ["t"] = value },
    };

    private static string Order(IEnumerable<FakeRun> runs, IReadOnlyList<string>? orderBy) =>
        string.Join(',', runs.Order(RunOrdering.Parse(orderBy)).Select(r => r.RunId));
}
