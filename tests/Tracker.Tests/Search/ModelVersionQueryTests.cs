using Tracker.Core.Registry;
using Tracker.Core.Search;
using Tracker.Core.Tracking;

namespace Tracker.Tests.Search;

public class ModelVersionQueryTests
{
    private const string NumericKeys = "{'version_number', 'creation_timestamp', 'last_updated_timestamp'}";
    private const string OrderKeys = "{'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}";

    private static readonly ModelVersion[] Versions =
    [
        Version("m1", 1, created: 10, updated: 100, runId: "aaa", source: "runs:/aaa/model", ("env", "prod")),
        Version("m1", 2, created: 20, updated: 300, runId: "bbb", source: "mlflow-artifacts:/1/bbb/artifacts/model"),
        Version("m1", 10, created: 30, updated: 300, runId: null, source: "models:/m-0123", ("env", "Prod")),
        Version("m2", 1, created: 5, updated: 200, runId: "ccc", source: "runs:/ccc/model"),
        Version("chat", 1, created: 1, updated: 500, runId: null, source: "prompt", (RegisteredModel.PromptTag, "true")),
    ];

    [Theory]
    [InlineData("", "m1/10,m1/2,m2/1,m1/1")]
    [InlineData("name = 'm1'", "m1/10,m1/2,m1/1")]
    [InlineData("name LIKE 'm_'", "m1/10,m1/2,m2/1,m1/1")]
    [InlineData("name ILIKE 'M2'", "m2/1")]
    [InlineData("name != 'm1'", "m2/1")]
    // version_number compares as a number: 10 > 2, which as strings it is not.
    [InlineData("name = 'm1' AND version_number > 1", "m1/10,m1/2")]
    [InlineData("version_number >= 2", "m1/10,m1/2")]
    [InlineData("version_number < 10", "m1/2,m2/1,m1/1")]
    [InlineData("version_number = 1", "m2/1,m1/1")]
    [InlineData("version_number != 1", "m1/10,m1/2")]
    [InlineData("version_number <= 2 and name = 'm1'", "m1/2,m1/1")]
    // MLflow's store turns a quoted integer into a number.
    [InlineData("version_number = '10'", "m1/10")]
    [InlineData("attribute.version_number > '1'", "m1/10,m1/2")]
    [InlineData("run_id = 'aaa'", "m1/1")]
    [InlineData("run_id IN ('aaa', 'ccc')", "m2/1,m1/1")]
    [InlineData("run_id IN ('aaa',)", "m1/1")]
    // A version without a run matches no run_id clause, as SQL NULL does not.
    [InlineData("run_id != 'aaa'", "m1/2,m2/1")]
    [InlineData("run_id LIKE '%'", "m1/2,m2/1,m1/1")]
    [InlineData("source_path = 'models:/m-0123'", "m1/10")]
    [InlineData("source_path LIKE 'runs:/%'", "m2/1,m1/1")]
    [InlineData("source_path ILIKE 'MLFLOW-ARTIFACTS:/%/bbb/%'", "m1/2")]
    // Tag clauses read the version's own tags.
    [InlineData("tags.env = 'prod'", "m1/1")]
    [InlineData("tag.env ILIKE 'PROD'", "m1/10,m1/1")]
    [InlineData("tags.`env` != 'prod'", "m1/10")]
    [InlineData("name = 'm1' AND tags.env LIKE 'P%' AND version_number > 1", "m1/10")]
    public void MatchesVersionsLikeMlflow(string filter, string expected) =>
        Assert.Equal(expected, Search(filter, null));

    [Theory]
    [InlineData("", false, "m1/10,m1/2,m2/1,m1/1")]
    [InlineData("tags.`mlflow.prompt.is_prompt` = 'true'", true, "chat/1")]
    [InlineData("tags.`mlflow.prompt.is_prompt` != 'false'", true, "chat/1")]
    [InlineData("name = 'chat'", false, "")]
    [InlineData("tags.`mlflow.prompt.is_prompt` = 'false'", false, "m1/10,m1/2,m2/1,m1/1")]
    [InlineData("tags.`mlflow.prompt.is_prompt` != 'true' AND name = 'm2'", false, "m2/1")]
    public void LeavesPromptVersionsOutUnlessAsked(string filter, bool includesPrompts, string expected)
    {
        Assert.Equal(includesPrompts, ModelVersionQuery.Parse(filter, null).IncludesPrompts);
        Assert.Equal(expected, Search(filter, null));
    }

    [Theory]
    // Default: last_updated_timestamp DESC, name ASC, version_number DESC.
    [InlineData(null, "m1/10,m1/2,m2/1,m1/1")]
    // Tie-breakers name ASC and version_number DESC are appended unless given.
    [InlineData("version_number", "m1/1,m2/1,m1/2,m1/10")]
    [InlineData("version_number DESC", "m1/10,m1/2,m1/1,m2/1")]
    [InlineData("attribute.version_number DESC", "m1/10,m1/2,m1/1,m2/1")]
    [InlineData("name DESC", "m2/1,m1/10,m1/2,m1/1")]
    [InlineData("`name`", "m1/10,m1/2,m1/1,m2/1")]
    [InlineData("creation_timestamp", "m2/1,m1/1,m1/2,m1/10")]
    [InlineData("last_updated_timestamp", "m1/1,m2/1,m1/10,m1/2")]
    // MLflow's store reads any prefix allowed here as the attribute of that name.
    [InlineData("tags.name DESC", "m2/1,m1/10,m1/2,m1/1")]
    public void OrdersVersions(string? orderBy, string expected) =>
        Assert.Equal(expected, Search("", orderBy is null ? null : [orderBy]));

    [Fact]
    public void LaterOrderKeysBreakTies() =>
        Assert.Equal("m1/2,m1/10,m2/1,m1/1", Search("", ["last_updated_timestamp DESC", "version_number ASC"]));

    [Theory]
    [InlineData("status = 'READY'", "Invalid attribute key 'status' specified. Valid keys are '{'name', 'version_number', 'run_id', 'source_path'}'")]
    [InlineData("source = 'x'", "Invalid attribute key 'source' specified. Valid keys are '{'name', 'version_number', 'run_id', 'source_path'}'")]
    [InlineData("params.a = 'x'", "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("version_number = 1.5", "Invalid value for numeric attribute 'version_number': 1.5")]
    [InlineData("version_number = 'abc'", "Invalid value for numeric attribute 'version_number': 'abc'")]
    [InlineData("version_number LIKE '1'", "Invalid comparator for attribute version_number: LIKE")]
    [InlineData("version_number IN ('1')", "Only the 'run_id' attribute supports comparison with a list of quoted string values.")]
    [InlineData("name = 1", $"Only the '{NumericKeys}' attributes support comparison with numeric values.")]
    [InlineData("name IN ('m1')", "Only the 'run_id' attribute supports comparison with a list of quoted string values.")]
    [InlineData("name > 'a'", "Invalid comparator for attribute: >")]
    [InlineData("run_id NOT IN ('aaa')", "Invalid comparator for attribute: NOT IN")]
    [InlineData("run_id = ('aaa')", "Invalid comparator '=' for a list of values: use IN or NOT IN.")]
    [InlineData("source_path IN ('x')", "Only the 'run_id' attribute supports comparison with a list of quoted string values.")]
    [InlineData("tags.t < 'a'", "Invalid comparator for tag: <")]
    [InlineData("tags.t = 1", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1")]
    [InlineData("run_id IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list")]
    public void RejectsBadFilters(string filter, string message) =>
        SearchAssert.Rejects(() => ModelVersionQuery.Parse(filter, null), message);

    [Theory]
    [InlineData("run_id", $"Invalid attribute key 'run_id' specified. Valid keys are '{OrderKeys}'")]
    [InlineData("version", $"Invalid attribute key 'version' specified. Valid keys are '{OrderKeys}'")]
    [InlineData("tags.env", $"Invalid order by key 'env' specified. Valid keys are {OrderKeys}")]
    [InlineData("metrics.a", "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("name sideways", "Invalid ordering key in order_by clause 'name sideways'.")]
    public void RejectsBadOrderBy(string orderBy, string message) =>
        SearchAssert.Rejects(() => ModelVersionQuery.Parse(null, [orderBy]), message);

    [Theory]
    [InlineData("name", "attribute.name DESC")]
    [InlineData("version_number DESC", "version_number")]
    public void RejectsRepeatedOrderFields(string first, string second) =>
        SearchAssert.Rejects(
            () => ModelVersionQuery.Parse(null, [first, second]),
            $"`order_by` contains duplicate fields: ['{first}', '{second}']");

    private static string Search(string? filter, IReadOnlyList<string>? orderBy)
    {
        var query = ModelVersionQuery.Parse(filter, orderBy);
        return string.Join(',', Versions.Where(query.Matches).Order(query.Order).Select(v => $"{v.Name}/{v.Version}"));
    }

    private static ModelVersion Version(
        string name, long version, long created, long updated, string? runId, string source, params (string Key, string Value)[] tags) =>
        new(name, version, created, updated, UserId: null, ModelStages.None, Description: "", source, runId, ModelVersionStatus.Ready,
            RunLink: "", tags.Select(t => new KeyValue(t.Key, t.Value)).ToList(), Aliases: [], ModelId: null, StorageLocation: source);
}
