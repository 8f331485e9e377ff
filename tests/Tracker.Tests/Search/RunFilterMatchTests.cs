using Tracker.Core.Search;

namespace Tracker.Tests.Search;

public class RunFilterMatchTests
{
    private static readonly FakeRun[] Runs =
    [
        new("aaa1", 300)
        {
            RunName = "sweep-1",
            EndTime = 400,
            LatestMetrics = new Dictionary<string, double> { ["val_acc"] = 0.9, ["loss"] = double.NaN },
            Params = new Dictionary<string, string> { ["batch_size"] = "64", ["lr"] = "1e-05" },
            Tags = new Dictionary<string, string> { ["sweep"] = "yes", ["mlflow.runName"] = "sweep-1" },
            Datasets = [new("train-ds", "d1", "training")],
        },
        new("bbb2", 200)
        {
            RunName = "Sweep-2",
            Status = "FAILED",
            LatestMetrics = new Dictionary<string, double> { ["val_acc"] = 0.88, ["big"] = double.PositiveInfinity },
            Params = new Dictionary<string, string> { ["batch_size"] = "32" },
            Tags = new Dictionary<string, string> { ["sweep"] = "yes", ["mlflow.runName"] = "Sweep-2" },
        },
        new("ccc3", 100)
        {
            RunName = "other",
            EndTime = 150,
            LatestMetrics = new Dictionary<string, double> { ["val_acc"] = 0.82 },
            Params = new Dictionary<string, string> { ["batch_size"] = "64", ["lr"] = "0.1" },
            Tags = new Dictionary<string, string> { ["mlflow.runName"] = "other" },
            Datasets = [new("eval-ds", "d2", null), new("train-ds", "x3", "eval")],
        },
        new("ddd4", 100) { UserId = "bob" },
    ];

    [Theory]
    [InlineData("", "aaa1,bbb2,ccc3,ddd4")]
    [InlineData("metrics.val_acc > 0.85 and params.batch_size = '64'", "aaa1")]
    [InlineData("metrics.val_acc >= 0.86 AND metrics.val_acc <= 0.9", "aaa1,bbb2")]
    [InlineData("metrics.val_acc = 0.9", "aaa1")]
    [InlineData("metrics.val_acc != 0.9", "bbb2,ccc3")]
    [InlineData("metrics.val_acc < 0.85", "ccc3")]
    // NaN metrics are 0 to MLflow's SQL filters; +inf is double.MaxValue.
    [InlineData("metrics.loss = 0", "aaa1")]
    [InlineData("metrics.loss > -1", "aaa1")]
    [InlineData("metrics.loss != 0", "")]
    [InlineData("metrics.big = 1.7976931348623157e308", "bbb2")]
    [InlineData("metrics.big > 1e300", "bbb2")]
    // A key the run lacks never matches, not even with != .
    [InlineData("params.batch_size != '64'", "bbb2")]
    [InlineData("params.lr != '0.1'", "aaa1")]
    [InlineData("params.lr = '1e-05'", "aaa1")]
    [InlineData("params.batch_size = \"64\"", "aaa1,ccc3")]
    [InlineData("params.batch_size LIKE '%4'", "aaa1,ccc3")]
    [InlineData("params.batch_size like '_2'", "bbb2")]
    [InlineData("tags.sweep = 'yes'", "aaa1,bbb2")]
    [InlineData("tags.sweep = 'YES'", "")]
    [InlineData("tags.sweep ILIKE 'YES'", "aaa1,bbb2")]
    [InlineData("tags.`mlflow.runName` ILIKE 'SWEEP-1'", "aaa1")]
    [InlineData("tags.mlflow.runName LIKE 'sweep-%'", "aaa1")]
    [InlineData("tags.mlflow.runName ILIKE 'sweep-%'", "aaa1,bbb2")]
    [InlineData("tags.sweep = 'yes' AND attributes.status != 'FAILED'", "aaa1")]
    [InlineData("attributes.run_name LIKE 'sweep-%'", "aaa1")]
    [InlineData("attributes.`Run Name` ILIKE 'SWEEP-_'", "aaa1,bbb2")]
    [InlineData("attributes.status = 'FAILED'", "bbb2")]
    [InlineData("attributes.status = 'failed'", "")]
    [InlineData("status != 'FAILED'", "aaa1,ccc3,ddd4")]
    [InlineData("attributes.run_id = 'ccc3'", "ccc3")]
    [InlineData("attributes.run_id IN ('aaa1', 'ccc3')", "aaa1,ccc3")]
    [InlineData("attributes.run_id NOT IN ('aaa1')", "bbb2,ccc3,ddd4")]
    [InlineData("attributes.run_id LIKE 'b%'", "bbb2")]
    [InlineData("attributes.user_id = 'bob'", "ddd4")]
    [InlineData("attributes.artifact_uri LIKE '%/bbb2/%'", "bbb2")]
    [InlineData("attributes.start_time >= 200", "aaa1,bbb2")]
    [InlineData("attributes.start_time = 100", "ccc3,ddd4")]
    [InlineData("created < 200", "ccc3,ddd4")]
    [InlineData("attributes.start_time > 1.5e2", "aaa1,bbb2")]
    // A run without an end time matches no end_time clause.
    [InlineData("attributes.end_time > 0", "aaa1,ccc3")]
    [InlineData("attributes.end_time != 150", "aaa1")]
    // Dataset clauses match when any one input does; a missing context matches nothing.
    [InlineData("dataset.name = 'train-ds'", "aaa1,ccc3")]
    [InlineData("dataset.name != 'train-ds'", "ccc3")]
    [InlineData("dataset.digest LIKE 'd%'", "aaa1,ccc3")]
    [InlineData("dataset.context = 'eval'", "ccc3")]
    [InlineData("dataset.context != 'eval'", "aaa1")]
    [InlineData("dataset.context IN ('training')", "aaa1")]
    [InlineData("datasets.context NOT IN ('training')", "ccc3")]
    [InlineData("dataset.name ILIKE 'EVAL%'", "ccc3")]
    public void MatchesRunsLikeMlflow(string filter, string expectedRunIds)
    {
        var parsed = RunFilter.Parse(filter);

        var matched = Runs.Where(parsed.Matches).Select(r => r.RunId);

        Assert.Equal(expectedRunIds, string.Join(',', matched));
    }

    [Fact]
    public void DroppedInListValuesNeverMatch()
    {
        var upper = new FakeRun("ABC", 1);
        var lower = new FakeRun("abc", 1);

        Assert.False(RunFilter.Parse("attributes.run_id IN ('ABC')").Matches(upper));
        Assert.True(RunFilter.Parse("attributes.run_id NOT IN ('ABC')").Matches(upper));
        Assert.True(RunFilter.Parse("attributes.run_id IN ('ABC', 'abc')").Matches(lower));
    }

    [Fact]
    public void AttributeStringsCompareCaseSensitivelyButIlikeDoesNot()
    {
        var run = new FakeRun("r1", 1) { UserId = "Alice" };

        Assert.False(RunFilter.Parse("attributes.user_id = 'alice'").Matches(run));
        Assert.False(RunFilter.Parse("attributes.user_id LIKE 'alice'").Matches(run));
        Assert.True(RunFilter.Parse("attributes.user_id ILIKE 'alice'").Matches(run));
    }

    [Fact]
    public void LikeTreatsRegexCharactersLiterally()
    {
        var run = new FakeRun("r1", 1) { Params = new Dictionary<string, string> { ["p"] = "a.b" } };

        Assert.True(RunFilter.Parse("params.p LIKE 'a.b'").Matches(run));
        Assert.False(RunFilter.Parse("params.p LIKE 'a.c'").Matches(run));
        Assert.False(RunFilter.Parse("params.p LIKE 'a\\.b'").Matches(run));
    }

    [Fact]
    public void MatchesRejectsNullRun() =>
        Assert.Throws<ArgumentNullException>(() => RunFilter.Parse("status = 'x'").Matches(null!));
}
