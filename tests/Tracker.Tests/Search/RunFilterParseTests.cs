using Tracker.Core.Search;

namespace Tracker.Tests.Search;

public class RunFilterParseTests
{
    [Theory]
    // The forms the recorded 2.10.2 client sent.
    [InlineData("tags.`mlflow.runName` ILIKE 'SWEEP-1'", SearchEntityType.Tag, "mlflow.runName", SearchComparator.ILike, "s:SWEEP-1")]
    [InlineData("attributes.run_id IN ('a', 'b')", SearchEntityType.Attribute, "run_id", SearchComparator.In, "l:a|b")]
    [InlineData("attributes.run_name LIKE 'sweep-%'", SearchEntityType.Attribute, "run_name", SearchComparator.Like, "s:sweep-%")]
    [InlineData("attributes.status = 'FAILED'", SearchEntityType.Attribute, "status", SearchComparator.Equal, "s:FAILED")]
    [InlineData("params.batch_size != '64'", SearchEntityType.Param, "batch_size", SearchComparator.NotEqual, "s:64")]
    [InlineData("tags.sweep = 'yes'", SearchEntityType.Tag, "sweep", SearchComparator.Equal, "s:yes")]
    // Entity prefixes and their aliases.
    [InlineData("metric.m = 1", SearchEntityType.Metric, "m", SearchComparator.Equal, "n:1")]
    [InlineData("metrics.m != 1", SearchEntityType.Metric, "m", SearchComparator.NotEqual, "n:1")]
    [InlineData("param.p = 'x'", SearchEntityType.Param, "p", SearchComparator.Equal, "s:x")]
    [InlineData("parameter.p = 'x'", SearchEntityType.Param, "p", SearchComparator.Equal, "s:x")]
    [InlineData("parameters.p = 'x'", SearchEntityType.Param, "p", SearchComparator.Equal, "s:x")]
    [InlineData("tag.t = 'x'", SearchEntityType.Tag, "t", SearchComparator.Equal, "s:x")]
    [InlineData("attribute.status = 'x'", SearchEntityType.Attribute, "status", SearchComparator.Equal, "s:x")]
    [InlineData("attr.user_id = 'u'", SearchEntityType.Attribute, "user_id", SearchComparator.Equal, "s:u")]
    [InlineData("run.artifact_uri = 'a'", SearchEntityType.Attribute, "artifact_uri", SearchComparator.Equal, "s:a")]
    [InlineData("status = 'RUNNING'", SearchEntityType.Attribute, "status", SearchComparator.Equal, "s:RUNNING")]
    [InlineData("dataset.name = 'd'", SearchEntityType.Dataset, "name", SearchComparator.Equal, "s:d")]
    [InlineData("datasets.digest IN ('abc')", SearchEntityType.Dataset, "digest", SearchComparator.In, "l:abc")]
    [InlineData("dataset.context NOT IN ('train', 'eval')", SearchEntityType.Dataset, "context", SearchComparator.NotIn, "l:train|eval")]
    [InlineData("dataset.name ILIKE 'x%'", SearchEntityType.Dataset, "name", SearchComparator.ILike, "s:x%")]
    // Every comparator, keywords in any case.
    [InlineData("metrics.m > 0.85", SearchEntityType.Metric, "m", SearchComparator.GreaterThan, "n:0.85")]
    [InlineData("metrics.m >= -1.5", SearchEntityType.Metric, "m", SearchComparator.GreaterThanOrEqual, "n:-1.5")]
    [InlineData("metrics.m < 1e-3", SearchEntityType.Metric, "m", SearchComparator.LessThan, "n:0.001")]
    [InlineData("metrics.m <= .5", SearchEntityType.Metric, "m", SearchComparator.LessThanOrEqual, "n:0.5")]
    [InlineData("metrics.m>-2", SearchEntityType.Metric, "m", SearchComparator.GreaterThan, "n:-2")]
    [InlineData("metrics.m = 2.5E+2", SearchEntityType.Metric, "m", SearchComparator.Equal, "n:250")]
    [InlineData("params.p like 'x%'", SearchEntityType.Param, "p", SearchComparator.Like, "s:x%")]
    [InlineData("params.p iLiKe 'x%'", SearchEntityType.Param, "p", SearchComparator.ILike, "s:x%")]
    [InlineData("attributes.run_id not in ('a')", SearchEntityType.Attribute, "run_id", SearchComparator.NotIn, "l:a")]
    [InlineData("attributes.run_id NOT   IN ('a',)", SearchEntityType.Attribute, "run_id", SearchComparator.NotIn, "l:a")]
    // Quoting of keys, entities and values.
    [InlineData("params.`my key` = 'x'", SearchEntityType.Param, "my key", SearchComparator.Equal, "s:x")]
    [InlineData("params.\"my key\" = 'x'", SearchEntityType.Param, "my key", SearchComparator.Equal, "s:x")]
    [InlineData("`params`.p = 'x'", SearchEntityType.Param, "p", SearchComparator.Equal, "s:x")]
    [InlineData("params.p = \"double quoted\"", SearchEntityType.Param, "p", SearchComparator.Equal, "s:double quoted")]
    [InlineData("params.p = ''", SearchEntityType.Param, "p", SearchComparator.Equal, "s:")]
    [InlineData("params.p = 'it''s'", SearchEntityType.Param, "p", SearchComparator.Equal, "s:it''s")]
    [InlineData("params.p = 'a AND b = ''c'''", SearchEntityType.Param, "p", SearchComparator.Equal, "s:a AND b = ''c''")]
    [InlineData("tags.mlflow.runName = 'r'", SearchEntityType.Tag, "mlflow.runName", SearchComparator.Equal, "s:r")]
    [InlineData("tags.mlflow.source.name = 'r'", SearchEntityType.Tag, "mlflow.source.name", SearchComparator.Equal, "s:r")]
    [InlineData("metrics.0 > 1", SearchEntityType.Metric, "0", SearchComparator.GreaterThan, "n:1")]
    [InlineData("metrics.`train/loss` < 1", SearchEntityType.Metric, "train/loss", SearchComparator.LessThan, "n:1")]
    // Numeric attributes and MLflow's aliases.
    [InlineData("attributes.start_time > 1700000000000", SearchEntityType.Attribute, "start_time", SearchComparator.GreaterThan, "n:1700000000000")]
    [InlineData("end_time <= 5", SearchEntityType.Attribute, "end_time", SearchComparator.LessThanOrEqual, "n:5")]
    [InlineData("created >= 1", SearchEntityType.Attribute, "start_time", SearchComparator.GreaterThanOrEqual, "n:1")]
    [InlineData("attributes.Created = 1", SearchEntityType.Attribute, "start_time", SearchComparator.Equal, "n:1")]
    [InlineData("attributes.`run name` = 'x'", SearchEntityType.Attribute, "run_name", SearchComparator.Equal, "s:x")]
    [InlineData("attributes.`Run name` = 'x'", SearchEntityType.Attribute, "run_name", SearchComparator.Equal, "s:x")]
    [InlineData("`Run Name` = 'x'", SearchEntityType.Attribute, "run_name", SearchComparator.Equal, "s:x")]
    [InlineData("\tattributes.status\n=\r\n'x'  ", SearchEntityType.Attribute, "status", SearchComparator.Equal, "s:x")]
    public void ParsesOneClause(string filter, SearchEntityType entity, string key, SearchComparator comparator, string value)
    {
        var clause = Assert.Single(RunFilter.Parse(filter).Clauses);

        Assert.Equal(entity, clause.Entity);
        Assert.Equal(key, clause.Key);
        Assert.Equal(comparator, clause.Comparator);
        Assert.Equal(value, SearchAssert.Describe(clause.Value));
    }

    [Theory]
    [InlineData("metrics.val_acc > 0.85 and params.batch_size = '64'")]
    [InlineData("metrics.val_acc > 0.85 AND params.batch_size = '64'")]
    [InlineData("metrics.val_acc>0.85 And params.batch_size='64'")]
    public void ParsesAndedClausesInOrder(string filter)
    {
        var clauses = RunFilter.Parse(filter).Clauses;

        Assert.Equal(
            [
                new SearchClause(SearchEntityType.Metric, "val_acc", SearchComparator.GreaterThan, clauses[0].Value),
                new SearchClause(SearchEntityType.Param, "batch_size", SearchComparator.Equal, clauses[1].Value),
            ],
            clauses);
        Assert.Equal("n:0.85", SearchAssert.Describe(clauses[0].Value));
        Assert.Equal("s:64", SearchAssert.Describe(clauses[1].Value));
    }

    [Fact]
    public void KeepsANumbersLiteralText()
    {
        var clause = Assert.Single(RunFilter.Parse("attributes.start_time > 1.7e12").Clauses);

        Assert.Equal("1.7e12", clause.Value.Text);
        Assert.Equal(1.7e12, clause.Value.Number);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \t\n")]
    public void EmptyFilterHasNoClauses(string? filter)
    {
        var parsed = RunFilter.Parse(filter);

        Assert.Empty(parsed.Clauses);
        Assert.Same(RunFilter.MatchAll, parsed);
    }

    [Fact]
    public void InListDropsValuesThatAreNotAllLowerCase()
    {
        // MLflow's _parse_run_ids keeps only str.islower() values: run ids are lowercase hex.
        var clause = Assert.Single(RunFilter.Parse("attributes.run_id IN ('abc', 'ABC', 'aBc', '123', 'a1')").Clauses);

        Assert.Equal(["abc", "a1"], clause.Value.Items);
    }

    [Theory]
    [InlineData("abc", true)]
    [InlineData("a-1_b", true)]
    [InlineData("straße", true)]
    [InlineData("", false)]
    [InlineData("123", false)]
    [InlineData("abC", false)]
    [InlineData("ǅa", false)]
    public void IsPythonLowerFollowsStrIsLower(string value, bool expected) =>
        Assert.Equal(expected, SearchGrammar.IsPythonLower(value));
}
