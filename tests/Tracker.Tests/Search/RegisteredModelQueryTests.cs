using Tracker.Core.Registry;
using Tracker.Core.Search;
using Tracker.Core.Tracking;

namespace Tracker.Tests.Search;

public class RegisteredModelQueryTests
{
    private static readonly RegisteredModel[] Models =
    [
        Model("alpha", updated: 300, ("team", "ml")),
        Model("Alpha-2", updated: 100, ("team", "ML"), ("my key", "v")),
        Model("beta_1", updated: 300),
        Model("beta%1", updated: 200, ("team", "")),
        Model("chat-prompt", updated: 400, (RegisteredModel.PromptTag, "true")),
    ];

    [Theory]
    [InlineData("", "Alpha-2,alpha,beta%1,beta_1")]
    [InlineData("name = 'alpha'", "alpha")]
    [InlineData("name = \"alpha\"", "alpha")]
    [InlineData("name = 'ALPHA'", "")]
    [InlineData("attribute.name != 'alpha'", "Alpha-2,beta%1,beta_1")]
    [InlineData("name LIKE 'alpha%'", "alpha")]
    [InlineData("name like 'alpha%'", "alpha")]
    [InlineData("name ILIKE 'alpha%'", "Alpha-2,alpha")]
    [InlineData("name ilike 'ALPHA'", "alpha")]
    // '_' is one character and '%' any run; neither escapes, so both match the literal '_' and '%' too.
    [InlineData("name LIKE 'beta_1'", "beta%1,beta_1")]
    [InlineData("name LIKE 'beta__'", "beta%1,beta_1")]
    [InlineData("name LIKE 'beta___'", "")]
    [InlineData("name LIKE '%-_'", "Alpha-2")]
    [InlineData("name LIKE 'A%'", "Alpha-2")]
    [InlineData("name ILIKE 'A%'", "Alpha-2,alpha")]
    [InlineData("tags.team = 'ml'", "alpha")]
    [InlineData("tag.team ILIKE 'ML'", "Alpha-2,alpha")]
    [InlineData("tags.team = ''", "beta%1")]
    // A model without the tag matches no tag clause, not even != .
    [InlineData("tags.team != 'ml'", "Alpha-2,beta%1")]
    [InlineData("tags.`my key` = 'v'", "Alpha-2")]
    [InlineData("tags.\"my key\" LIKE '_'", "Alpha-2")]
    [InlineData("name ILIKE 'a%' AND tags.team = 'ML'", "Alpha-2")]
    [InlineData("name ILIKE 'a%' and tags.team LIKE 'm%'", "alpha")]
    public void MatchesModelsLikeMlflow(string filter, string expectedNames) =>
        Assert.Equal(expectedNames, Search(filter, null));

    [Theory]
    [InlineData("", false, "Alpha-2,alpha,beta%1,beta_1")]
    [InlineData("tags.`mlflow.prompt.is_prompt` = 'true'", true, "chat-prompt")]
    [InlineData("tags.mlflow.prompt.is_prompt = 'true'", true, "chat-prompt")]
    [InlineData("tags.`mlflow.prompt.is_prompt` != 'false'", true, "chat-prompt")]
    [InlineData("tags.`mlflow.prompt.is_prompt` = 'true' AND name LIKE 'chat%'", true, "chat-prompt")]
    [InlineData("name LIKE 'chat%'", false, "")]
    // Asking for "not prompts" is the default, although ordinary models lack the tag (spec §6.8).
    [InlineData("tags.`mlflow.prompt.is_prompt` = 'false'", false, "Alpha-2,alpha,beta%1,beta_1")]
    [InlineData("tags.`mlflow.prompt.is_prompt` != 'true' AND name LIKE 'a%'", false, "alpha")]
    // The value is recognised case-insensitively; the clause then compares as any tag clause does.
    [InlineData("tags.`mlflow.prompt.is_prompt` = 'TRUE'", true, "")]
    public void LeavesPromptsOutUnlessAsked(string filter, bool includesPrompts, string expectedNames)
    {
        Assert.Equal(includesPrompts, RegisteredModelQuery.Parse(filter, null).IncludesPrompts);
        Assert.Equal(expectedNames, Search(filter, null));
    }

    [Theory]
    [InlineData(null, "Alpha-2,alpha,beta%1,beta_1")]
    [InlineData("name", "Alpha-2,alpha,beta%1,beta_1")]
    [InlineData("name ASC", "Alpha-2,alpha,beta%1,beta_1")]
    [InlineData("name DESC", "beta_1,beta%1,alpha,Alpha-2")]
    [InlineData("`name` desc", "beta_1,beta%1,alpha,Alpha-2")]
    // Both timestamp keys mean last-updated time; ties fall back to name ASC.
    [InlineData("timestamp", "Alpha-2,beta%1,alpha,beta_1")]
    [InlineData("timestamp DESC", "alpha,beta_1,beta%1,Alpha-2")]
    [InlineData("last_updated_timestamp DESC", "alpha,beta_1,beta%1,Alpha-2")]
    public void OrdersModels(string? orderBy, string expectedNames) =>
        Assert.Equal(expectedNames, Search("", orderBy is null ? null : [orderBy]));

    [Fact]
    public void LaterOrderKeysBreakTies() =>
        Assert.Equal("beta_1,alpha,beta%1,Alpha-2", Search("", ["timestamp DESC", "name DESC"]));

    [Theory]
    [InlineData("creation_time > 1", "Invalid attribute key 'creation_time' specified. Valid keys are '{'name'}'")]
    [InlineData("run_id = 'a'", "Invalid attribute key 'run_id' specified. Valid keys are '{'name'}'")]
    // MLflow checks an attribute key before unquoting it.
    [InlineData("`name` = 'a'", "Invalid attribute key '`name`' specified. Valid keys are '{'name'}'")]
    [InlineData("attribute.`name` = 'a'", "Invalid attribute key '`name`' specified. Valid keys are '{'name'}'")]
    [InlineData("attributes.name = 'a'", "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("metrics.a > 1", "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')")]
    [InlineData("name > 'a'", "Invalid comparator for attribute: >")]
    [InlineData("name = 1", "Expected a quoted string value or a list of quoted string values for attributes. Got value 1")]
    [InlineData("name IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values.")]
    [InlineData("name = alpha", "Parameter value is either not quoted or unidentified quote types used for string value alpha. Use either single or double quotes.")]
    [InlineData("tags.t > 'a'", "Invalid comparator for tag: >")]
    [InlineData("tags.t = 1", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1")]
    [InlineData("tags.t IN ('a')", "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')")]
    [InlineData("name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: 'OR name = 'b''")]
    [InlineData("name = 'a'; name = 'b'", "Search filter contained multiple expression 'name = 'a'; name = 'b''. Provide AND-ed expression list.")]
    public void RejectsBadFilters(string filter, string message) =>
        SearchAssert.Rejects(() => RegisteredModelQuery.Parse(filter, null), message);

    [Theory]
    [InlineData("creation_timestamp", "Invalid order by key 'creation_timestamp' specified. Valid keys are '{'name', 'timestamp'}'")]
    [InlineData("attribute.name", "Invalid order by key 'attribute.name' specified. Valid keys are '{'name', 'timestamp'}'")]
    [InlineData("tags.team", "Invalid order by key 'tags.team' specified. Valid keys are '{'name', 'timestamp'}'")]
    [InlineData("name sideways", "Invalid ordering key in order_by clause 'name sideways'.")]
    [InlineData("name, timestamp", "Invalid order_by clause 'name, timestamp'. Could not be parsed.")]
    public void RejectsBadOrderBy(string orderBy, string message) =>
        SearchAssert.Rejects(() => RegisteredModelQuery.Parse(null, [orderBy]), message);

    [Theory]
    [InlineData("name", "name DESC")]
    [InlineData("timestamp", "last_updated_timestamp DESC")]
    public void RejectsRepeatedOrderFields(string first, string second) =>
        SearchAssert.Rejects(
            () => RegisteredModelQuery.Parse(null, [first, second]),
            $"`order_by` contains duplicate fields: ['{first}', '{second}']");

    private static string Search(string? filter, IReadOnlyList<string>? orderBy)
    {
        var query = RegisteredModelQuery.Parse(filter, orderBy);
        return string.Join(',', Models.Where(query.Matches).Order(query.Order).Select(m => m.Name));
    }

    private static RegisteredModel Model(string name, long updated, params (string Key, string Value)[] tags) =>
        new(name, CreationTimestamp: 1, updated, Description: "", tags.Select(t => new KeyValue(t.Key, t.Value)).ToList(), [], [], DeploymentJobId: null);
}
