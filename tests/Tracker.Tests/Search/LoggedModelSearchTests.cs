using Tracker.Core;
using Tracker.Core.Search;
using Tracker.Core.Tracking;
using Tracker.Tests.Unit;

namespace Tracker.Tests.Search;

/// <summary>logged-models/search's filter (attributes, metrics, params, tags) and structured order_by, with no I/O.</summary>
public class LoggedModelSearchTests
{
    private sealed record Model(
        string ModelId, string Name, string? ModelType, string Status, string? SourceRunId, long CreationTimestamp, long LastUpdatedTimestamp,
        IReadOnlyList<KeyValue> Tags, IReadOnlyList<KeyValue> Params, IReadOnlyList<LoggedModelMetric> Metrics) : ISearchableLoggedModel;

    private static Model M(string id, string name, long created, double? accuracy = null, string? dataset = null, string status = LoggedModelStatus.Ready,
        string? type = null, string? run = null, string? tag = null, string? param = null) =>
        new(id, name, type, status, run, created, created + 1,
            tag is null ? [] : [new KeyValue("team", tag)],
            param is null ? [] : [new KeyValue("alpha", param)],
            accuracy is null ? [] : [new LoggedModelMetric("accuracy", accuracy.Value, 10, 1, run, dataset, dataset is null ? null : "d1")]);

    private static bool Matches(string filter, Model model, params LoggedModelDataset[] datasets) => LoggedModelFilter.Parse(filter, datasets).Matches(model);

    [Theory]
    [InlineData("name = 'model'", true)]
    [InlineData("name = 'other'", false)]
    [InlineData("name != 'other'", true)]
    [InlineData("name LIKE 'mod%'", true)]
    [InlineData("name ILIKE 'MOD%'", true)]
    [InlineData("name LIKE 'MOD%'", false)]
    [InlineData("attributes.name = 'model'", true)]
    [InlineData("model_id = 'm-1'", true)]
    [InlineData("model_type = 'sklearn'", true)]
    [InlineData("status = 'LOGGED_MODEL_READY'", true)]
    [InlineData("source_run_id = 'r1'", true)]
    [InlineData("creation_timestamp >= 100", true)]
    [InlineData("creation_time > 100", false)]
    [InlineData("last_updated_timestamp = 101", true)]
    [InlineData("last_updated_time < 101", false)]
    [InlineData("metrics.accuracy > 0.9", true)]
    [InlineData("metrics.accuracy < 0.9", false)]
    [InlineData("metrics.missing > 0", false)]
    [InlineData("params.alpha = '0.5'", true)]
    [InlineData("params.alpha != '0.5'", false)]
    [InlineData("tags.team = 'ml'", true)]
    [InlineData("tags.team LIKE 'm%'", true)]
    [InlineData("tags.other = 'ml'", false)]
    [InlineData("name = 'model' AND metrics.accuracy >= 0.95 AND tags.team = 'ml'", true)]
    [InlineData("name = 'model' AND metrics.accuracy > 0.95", false)]
    public void TheFilterMatchesAttributesMetricsParamsAndTags(string filter, bool expected) =>
        Assert.Equal(expected, Matches(filter, M("m-1", "model", 100, accuracy: 0.95, type: "sklearn", run: "r1", tag: "ml", param: "0.5")));

    [Fact]
    public void AnEmptyFilterMatchesEveryModel() => Assert.True(Matches("", M("m-1", "x", 1)));

    [Fact]
    public void DatasetsLimitWhichMetricsAFilterSees()
    {
        var model = M("m-1", "x", 1, accuracy: 0.9, dataset: "eval");
        Assert.True(Matches("metrics.accuracy > 0.5", model));
        Assert.True(Matches("metrics.accuracy > 0.5", model, new LoggedModelDataset("eval", null)));
        Assert.True(Matches("metrics.accuracy > 0.5", model, new LoggedModelDataset("eval", "d1")));
        Assert.False(Matches("metrics.accuracy > 0.5", model, new LoggedModelDataset("eval", "other-digest")));
        Assert.False(Matches("metrics.accuracy > 0.5", model, new LoggedModelDataset("train", null)));
    }

    [Fact]
    public void AMetricClauseSeesTheLatestStep()
    {
        var model = new Model("m-1", "x", null, LoggedModelStatus.Ready, null, 1, 1, [], [],
            [new LoggedModelMetric("loss", 0.1, 50, 2, null, null, null), new LoggedModelMetric("loss", 0.9, 99, 1, null, null, null)]);
        Assert.True(Matches("metrics.loss < 0.5", model));
    }

    [Theory]
    [InlineData("foo = 'x'", "Invalid attribute key 'foo'")]
    [InlineData("bogus.x = 'x'", "Invalid entity type 'bogus'")]
    [InlineData("metrics.accuracy = 'high'", "Expected numeric value type for metric")]
    [InlineData("creation_timestamp = 'yesterday'", "Expected numeric value type for numeric attribute")]
    [InlineData("name > 'a'", "Invalid comparator '>'")]
    [InlineData("metrics.accuracy LIKE 1", "Invalid comparator 'LIKE'")]
    [InlineData("name = 'a' OR name = 'b'", "")]
    [InlineData("name = ", "")]
    public void AnInvalidFilterIsA400(string filter, string message)
    {
        var e = MlflowAssert.Throws(() => LoggedModelFilter.Parse(filter, []));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    private static List<string> Sorted(IReadOnlyList<LoggedModelOrderBy> orderBy, params Model[] models)
    {
        var list = models.ToList();
        list.Sort(new LoggedModelOrdering(orderBy));
        return list.Select(m => m.ModelId).ToList();
    }

    [Fact]
    public void TheDefaultOrderIsNewestFirstThenModelId() =>
        Assert.Equal(["m-c", "m-a", "m-b"], Sorted([], M("m-a", "x", 5), M("m-c", "x", 9), M("m-b", "x", 5)));

    [Fact]
    public void OrderByAttributesAscendingOrDescending()
    {
        Model[] models = [M("m-a", "beta", 1), M("m-b", "alpha", 2), M("m-c", "gamma", 3)];
        Assert.Equal(["m-b", "m-a", "m-c"], Sorted([new("name", true, null, null)], models));
        Assert.Equal(["m-c", "m-a", "m-b"], Sorted([new("name", false, null, null)], models));
        Assert.Equal(["m-a", "m-b", "m-c"], Sorted([new("creation_timestamp", true, null, null)], models));
        Assert.Equal(["m-a", "m-b", "m-c"], Sorted([new("creation_time", true, null, null)], models));
    }

    [Fact]
    public void OrderByAMetricPutsModelsWithoutItLastEitherWay()
    {
        Model[] models = [M("m-a", "x", 1, accuracy: 0.5), M("m-b", "x", 2), M("m-c", "x", 3, accuracy: 0.9)];
        Assert.Equal(["m-a", "m-c", "m-b"], Sorted([new("metrics.accuracy", true, null, null)], models));
        Assert.Equal(["m-c", "m-a", "m-b"], Sorted([new("metrics.accuracy", false, null, null)], models));
    }

    [Fact]
    public void OrderByAMetricOfOneDataset()
    {
        Model[] models = [M("m-a", "x", 1, accuracy: 0.5, dataset: "eval"), M("m-b", "x", 2, accuracy: 0.9, dataset: "train")];
        Assert.Equal(["m-a", "m-b"], Sorted([new("metrics.accuracy", false, "eval", null)], models));
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("metrics.")]
    [InlineData("params.alpha")]
    public void AnUnknownOrderFieldIsA400(string field) => MlflowAssert.Throws(() => new LoggedModelOrdering([new(field, true, null, null)]));

    [Fact]
    public void AFieldOrderedTwiceIsA400() =>
        MlflowAssert.Throws(() => new LoggedModelOrdering([new("creation_time", true, null, null), new("creation_timestamp", false, null, null)]));

    [Fact]
    public void AMissingTextAttributeSortsFirstAscendingAndLastDescending()
    {
        // MLflow's SQL store orders attribute columns plainly (SQLite: NULL lowest), unlike metrics.
        Model[] models = [M("m-a", "x", 1, type: "sklearn"), M("m-b", "x", 2), M("m-c", "x", 3, type: "pytorch")];
        Assert.Equal(["m-b", "m-c", "m-a"], Sorted([new("model_type", true, null, null)], models));
        Assert.Equal(["m-a", "m-c", "m-b"], Sorted([new("model_type", false, null, null)], models));
    }

    [Fact]
    public void AnOrderKeyOnAnotherDatasetThanTheFilterSeesItsOwnDataset()
    {
        Model[] models =
        [
            new("m-a", "x", null, LoggedModelStatus.Ready, null, 1, 1, [], [],
                [new LoggedModelMetric("acc", 0.9, 1, 1, null, "eval", "d1"), new LoggedModelMetric("loss", 0.2, 1, 1, null, "train", "d1")]),
            new("m-b", "x", null, LoggedModelStatus.Ready, null, 2, 2, [], [],
                [new LoggedModelMetric("acc", 0.8, 1, 1, null, "eval", "d1"), new LoggedModelMetric("loss", 0.1, 1, 1, null, "train", "d1")]),
        ];
        Assert.Equal(["m-b", "m-a"], Sorted([new("metrics.loss", true, "train", "d1"), new("metrics.acc", true, "eval", null)], models));
        Assert.Equal(["m-b", "m-a"], Sorted([new("metrics.acc", true, "eval", null)], models));
        Assert.Equal(["m-b", "m-a"], Sorted([new("metrics.acc", true, "eval", "d1"), new("metrics.loss", true, "eval", null)], models));
        Assert.Equal(["m-b", "m-a"], Sorted([new("metrics.loss", false, "eval", null)], models)); // no loss on eval: ties, newest first
    }

    [Fact]
    public void ANaNMetricIsSeenAsLoggedByFiltersAndSortsBelowEveryNumber()
    {
        Model[] models = [M("m-a", "x", 1, accuracy: 0.5), M("m-b", "x", 2, accuracy: double.NaN), M("m-c", "x", 3)];
        Assert.False(Matches("metrics.accuracy = 0", models[1]));
        Assert.True(Matches("metrics.accuracy != 0", models[1]));
        Assert.Equal(["m-b", "m-a", "m-c"], Sorted([new("metrics.accuracy", true, null, null)], models));
        Assert.Equal(["m-a", "m-b", "m-c"], Sorted([new("metrics.accuracy", false, null, null)], models));
    }

    [Fact]
    public void AnOrderFieldErrorNamesTheField()
    {
        var e = MlflowAssert.Throws(() => new LoggedModelOrdering([new("bogus", true, null, null)]));
        Assert.StartsWith("Invalid order by field name: bogus. Expected one of name, model_id,", e.Message, StringComparison.Ordinal);
        e = MlflowAssert.Throws(() => new LoggedModelOrdering([new("metrics.a", true, null, null), new("metrics.a", false, "eval", null)]));
        Assert.Equal("order_by contains a field more than once.", e.Message);
    }
}
