using Tracker.Core.Search;

namespace Tracker.Tests.Search;

public class ExperimentSearchTests
{
    private static readonly FakeExperiment[] Experiments =
    [
        new("1", "exp-a", 100, 500) { Tags = new Dictionary<string, string> { ["team"] = "ml" } },
        new("2", "Exp-B", 300, 300),
        new("10", "other", 200, 200) { Tags = new Dictionary<string, string> { ["team"] = "ML", ["mlflow.note"] = "n" } },
    ];

    [Theory]
    [InlineData("", "1,2,10")]
    [InlineData("name LIKE 'exp-%'", "1")]
    [InlineData("name like 'exp-%'", "1")]
    [InlineData("name ILIKE 'exp-%'", "1,2")]
    [InlineData("name = 'other'", "10")]
    [InlineData("name = \"exp-a\"", "1")]
    [InlineData("attribute.name != 'other'", "1,2")]
    [InlineData("creation_time > 150", "2,10")]
    [InlineData("creation_time = 100", "1")]
    [InlineData("attribute.last_update_time <= 300", "2,10")]
    [InlineData("last_update_time != 300", "1,10")]
    [InlineData("tags.team = 'ml'", "1")]
    [InlineData("tag.team ILIKE 'ml'", "1,10")]
    [InlineData("tags.team != 'ml'", "10")]
    [InlineData("tags.mlflow.note = 'n'", "10")]
    [InlineData("tags.`mlflow.note` LIKE '_'", "10")]
    [InlineData("name ILIKE '%e%' AND creation_time < 250", "1,10")]
    public void MatchesExperiments(string filter, string expectedIds)
    {
        var parsed = ExperimentFilter.Parse(filter);

        Assert.Equal(expectedIds, string.Join(',', Experiments.Where(parsed.Matches).Select(e => e.ExperimentId)));
    }

    [Fact]
    public void ExposesClauses()
    {
        var clauses = ExperimentFilter.Parse("name LIKE 'exp-%' and tags.team = 'ml'").Clauses;

        Assert.Equal(2, clauses.Count);
        Assert.Equal((SearchEntityType.Attribute, "name", SearchComparator.Like), (clauses[0].Entity, clauses[0].Key, clauses[0].Comparator));
        Assert.Equal((SearchEntityType.Tag, "team", SearchComparator.Equal), (clauses[1].Entity, clauses[1].Key, clauses[1].Comparator));
        Assert.Same(ExperimentFilter.MatchAll, ExperimentFilter.Parse(" "));
    }

    [Theory]
    [InlineData("attributes.name = 'x'", "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("`attribute`.name = 'x'", "Invalid entity type '`attribute`'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("metrics.a > 1", "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("experiment_id = '1'", "Invalid attribute key 'experiment_id' specified. Valid keys are '{'name', 'creation_time', 'last_update_time'}'")]
    [InlineData("name > 'a'", "Invalid comparator '>' not one of '{'=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'")]
    [InlineData("creation_time LIKE 1", "Invalid comparator 'LIKE' not one of '{'=', '>', '>=', '<', '!=', '<='}")]
    [InlineData("creation_time = 'x'", "Expected numeric value type for numeric attribute: creation_time. Found 'x'")]
    [InlineData("name = 1", "Expected a quoted string value for attributes. Got value 1")]
    [InlineData("tags.t > 'a'", "Invalid comparator for tag: >")]
    [InlineData("tags.t = 1", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1")]
    [InlineData("name IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values.")]
    [InlineData("name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: 'OR name = 'b''")]
    [InlineData("name = 'a'; name = 'b'", "Search filter contained multiple expression 'name = 'a'; name = 'b''. Provide AND-ed expression list.")]
    public void RejectsBadFilters(string filter, string message) =>
        SearchAssert.Rejects(() => ExperimentFilter.Parse(filter), message);

    [Fact]
    public void DefaultOrderIsNewestFirstThenIdAscendingAsIntegers()
    {
        var experiments = new[] { new FakeExperiment("10", "a", 5, 0), new FakeExperiment("9", "b", 5, 0), new FakeExperiment("2", "c", 1, 0) };

        Assert.Same(ExperimentOrdering.Default, ExperimentOrdering.Parse(null));
        Assert.Equal("9,10,2", Order(experiments, null));
    }

    [Theory]
    [InlineData("name", "a,b,c")]
    [InlineData("name DESC", "c,b,a")]
    [InlineData("attribute.name ASC", "a,b,c")]
    [InlineData("experiment_id", "b,c,a")]
    [InlineData("experiment_id DESC", "a,c,b")]
    [InlineData("creation_time", "b,a,c")]
    [InlineData("last_update_time DESC", "a,c,b")]
    public void OrdersByEachKey(string orderBy, string expectedNames)
    {
        var experiments = new[]
        {
            new FakeExperiment("100", "a", 20, 9),
            new FakeExperiment("9", "b", 10, 1),
            new FakeExperiment("10", "c", 30, 5),
        };

        Assert.Equal(expectedNames, string.Join(',', experiments.Order(ExperimentOrdering.Parse([orderBy])).Select(e => e.Name)));
    }

    [Fact]
    public void ExplicitOrderGetsExperimentIdDescendingTieBreaker()
    {
        var experiments = new[] { new FakeExperiment("9", "a", 1, 0), new FakeExperiment("10", "b", 1, 0), new FakeExperiment("2", "c", 0, 0) };

        Assert.Equal("2,10,9", Order(experiments, ["creation_time ASC"]));
        Assert.Equal(
            [new(SearchEntityType.Attribute, "name", true), new(SearchEntityType.Attribute, "experiment_id", false)],
            ExperimentOrdering.Parse(["name"]).Keys);
        Assert.Equal(
            [new(SearchEntityType.Attribute, "experiment_id", true)],
            ExperimentOrdering.Parse(["experiment_id"]).Keys);
    }

    [Theory]
    [InlineData("tags.team", "Invalid order_by entity: tag")]
    [InlineData("run_id", "Invalid attribute key 'run_id' specified. Valid keys are '{'name', 'experiment_id', 'creation_time', 'last_update_time'}'")]
    [InlineData("attributes.name", "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("name sideways", "Invalid ordering key in order_by clause 'name sideways'.")]
    [InlineData("name, experiment_id", "Invalid order_by clause 'name, experiment_id'. Could not be parsed.")]
    public void RejectsBadOrderBy(string orderBy, string message) =>
        SearchAssert.Rejects(() => ExperimentOrdering.Parse([orderBy]), message);

    private static string Order(IEnumerable<FakeExperiment> experiments, IReadOnlyList<string>? orderBy) =>
        string.Join(',', experiments.Order(ExperimentOrdering.Parse(orderBy)).Select(e => e.ExperimentId));
}
