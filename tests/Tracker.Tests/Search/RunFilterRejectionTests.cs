using Tracker.Core.Search;

namespace Tracker.Tests.Search;

public class RunFilterRejectionTests
{
    [Theory]
    // Recorded verbatim from a real MLflow 2.10.2 server.
    [InlineData("metrics.acc >>> 1", "Invalid comparator '>>>' not one of '{'=', '>', '>=', '<', '!=', '<='}")]
    [InlineData("nonsense.x = 1", "Invalid entity type 'nonsense'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']")]
    // Unknown entities and keys.
    [InlineData("\"metrics\".a = 1", "Invalid entity type '\"metrics\"'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']")]
    [InlineData("Metrics.a = 1", "Invalid entity type 'Metrics'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']")]
    [InlineData("attributes.foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are '{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', 'end_time', 'created', 'Created', 'run name', 'Run name', 'Run Name'}'")]
    [InlineData("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', 'end_time', 'created', 'Created', 'run name', 'Run name', 'Run Name'}'")]
    [InlineData("dataset.foo = 'x'", "Invalid dataset key 'foo' specified. Valid keys are '{'name', 'digest', 'context'}'")]
    // Comparators that the entity does not take (MLflow's texts, missing closing quotes included).
    [InlineData("metrics.acc <> 1", "Invalid comparator '<>' not one of '{'=', '>', '>=', '<', '!=', '<='}")]
    [InlineData("metrics.acc == 1", "Invalid comparator '==' not one of '{'=', '>', '>=', '<', '!=', '<='}")]
    [InlineData("metrics.acc LIKE 1", "Invalid comparator 'LIKE' not one of '{'=', '>', '>=', '<', '!=', '<='}")]
    [InlineData("params.p > '1'", "Invalid comparator '>' not one of '{'=', '!=', 'LIKE', 'ILIKE'}'")]
    [InlineData("params.p IN ('a')", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')")]
    [InlineData("tags.t < 'a'", "Invalid comparator '<' not one of '{'=', '!=', 'LIKE', 'ILIKE'}")]
    [InlineData("attributes.status > 'a'", "Invalid comparator '>' not one of '{'=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'")]
    [InlineData("attributes.start_time LIKE 1", "Invalid comparator 'LIKE' not one of '{'=', '>', '>=', '<', '!=', '<='}")]
    [InlineData("dataset.name > 'x'", "Invalid comparator '>' not one of '{'=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}")]
    [InlineData("attributes.run_id = ('a')", "Invalid comparator '=' for a list of values: use IN or NOT IN.")]
    // Values of the wrong type.
    [InlineData("metrics.a = 'x'", "Expected numeric value type for metric. Found 'x'")]
    [InlineData("metrics.a = \"x\"", "Expected numeric value type for metric. Found \"x\"")]
    [InlineData("metrics.a IN (1, 2)", "Expected numeric value type for metric. Found (1, 2)")]
    [InlineData("params.p > 1", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1")]
    [InlineData("tags.t = 1", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1")]
    [InlineData("params.p = x", "Parameter value is either not quoted or unidentified quote types used for string value x. Use either single or double quotes.")]
    [InlineData("params.p = `x`", "Parameter value is either not quoted or unidentified quote types used for string value `x`. Use either single or double quotes.")]
    [InlineData("attributes.start_time = 'x'", "Expected numeric value type for numeric attribute: start_time. Found 'x'")]
    [InlineData("created = 'x'", "Expected numeric value type for numeric attribute: created. Found 'x'")]
    [InlineData("attributes.status = 1", "Expected a quoted string value for attributes. Got value 1")]
    [InlineData("attributes.status IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values.")]
    [InlineData("dataset.name = 1", "Expected a quoted string value for dataset attributes. Got value 1")]
    // IN lists.
    [InlineData("attributes.run_id IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list")]
    [InlineData("attributes.run_id IN ('a' 'b')", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")]
    [InlineData("attributes.run_id IN ('a',, 'b')", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")]
    [InlineData("attributes.run_id IN (, 'a')", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")]
    [InlineData("attributes.run_id IN ('a', 1)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ('a', 1)")]
    [InlineData("attributes.run_id IN (\"a\")", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (\"a\")")]
    [InlineData("attributes.run_id IN 'a'", "Invalid clause(s) in filter string: 'attributes.run_id IN 'a''")]
    [InlineData("attributes.run_id IN ('a'", "Invalid clause(s) in filter string: 'attributes.run_id IN ('a''")]
    [InlineData("attributes.run_id IN (('a'))", "Invalid clause(s) in filter string: 'attributes.run_id IN (('a'))'")]
    // Structure: one statement, AND only, no grouping.
    [InlineData("metrics.a > 1; metrics.b > 2", "Search filter contained multiple expression 'metrics.a > 1; metrics.b > 2'. Provide AND-ed expression list.")]
    [InlineData("metrics.a > 1;", "Invalid clause(s) in filter string: ';'")]
    [InlineData("metrics.a > 1 OR metrics.b > 2", "Invalid clause(s) in filter string: 'OR metrics.b > 2'")]
    [InlineData("metrics.a > 1 or metrics.b > 2", "Invalid clause(s) in filter string: 'or metrics.b > 2'")]
    [InlineData("(metrics.a > 1)", "Invalid clause(s) in filter string: '(metrics.a > 1)'")]
    [InlineData("metrics.a > 1 AND (metrics.b > 2)", "Invalid clause(s) in filter string: '(metrics.b > 2)'")]
    [InlineData("NOT metrics.a > 1", "Invalid clause(s) in filter string: 'NOT metrics.a > 1'")]
    [InlineData("metrics.a > 1 AND", "Invalid clause(s) in filter string: 'AND'")]
    [InlineData("AND metrics.a > 1", "Invalid clause(s) in filter string: 'AND metrics.a > 1'")]
    [InlineData("metrics.a > 1 AND AND metrics.b > 1", "Invalid clause(s) in filter string: 'AND metrics.b > 1'")]
    [InlineData("metrics.a > 1 metrics.b > 1", "Invalid clause(s) in filter string: 'metrics.b > 1'")]
    [InlineData("metrics.a", "Invalid clause(s) in filter string: 'metrics.a'")]
    [InlineData("metrics.a >", "Invalid clause(s) in filter string: 'metrics.a >'")]
    [InlineData("metrics.a > 1 > 2", "Invalid clause(s) in filter string: '> 2'")]
    [InlineData("metrics. a > 1", "Invalid clause(s) in filter string: 'metrics. a > 1'")]
    [InlineData("metrics.a NOT LIKE 1", "Invalid clause(s) in filter string: 'metrics.a NOT LIKE 1'")]
    [InlineData("metrics.a IS NULL", "Invalid clause(s) in filter string: 'metrics.a IS NULL'")]
    [InlineData("1 = 1", "Invalid clause(s) in filter string: '1 = 1'")]
    [InlineData("'a' = 'a'", "Invalid clause(s) in filter string: ''a' = 'a''")]
    // Untrusted input that looks like injection into a backing store's query language.
    [InlineData("params.p = 'x' or 1 eq 1", "Invalid clause(s) in filter string: 'or 1 eq 1'")]
    [InlineData("params.p = 'x' and 1 eq 1", "Invalid clause(s) in filter string: '1 eq 1'")]
    [InlineData("tags.t = 'a'' or PartitionKey ne ''", "Error on parsing filter 'tags.t = 'a'' or PartitionKey ne ''': unterminated quoted string starting at position 9.")]
    [InlineData("params.p = 'x' -- comment", "Error on parsing filter 'params.p = 'x' -- comment': unexpected character '-' at position 15.")]
    [InlineData("params.p = 'x' # comment", "Error on parsing filter 'params.p = 'x' # comment': unexpected character '#' at position 15.")]
    // Lexical errors.
    [InlineData("params.p = 'unterminated", "Error on parsing filter 'params.p = 'unterminated': unterminated quoted string starting at position 11.")]
    [InlineData("params.p = \"unterminated", "Error on parsing filter 'params.p = \"unterminated': unterminated quoted string starting at position 11.")]
    [InlineData("tags.`mlflow.runName = 'x'", "Error on parsing filter 'tags.`mlflow.runName = 'x'': unterminated quoted string starting at position 5.")]
    [InlineData("params.p = 'C:\\'", "Error on parsing filter 'params.p = 'C:\\'': unterminated quoted string starting at position 11.")]
    [InlineData("metrics.a = 1abc", "Error on parsing filter 'metrics.a = 1abc': malformed number at position 12.")]
    [InlineData("metrics.a = -", "Error on parsing filter 'metrics.a = -': unexpected character '-' at position 12.")]
    public void RejectsWithMlflowMessage(string filter, string message) =>
        SearchAssert.Rejects(() => RunFilter.Parse(filter), message);

    [Fact]
    public void RejectsAOneMegabyteFilterBeforeParsingIt()
    {
        var filter = "params.p = '" + new string('x', 1024 * 1024) + "'";

        SearchAssert.Rejects(() => RunFilter.Parse(filter), $"Filter string is too long: {filter.Length} characters, the maximum is 16384.");
    }

    [Fact]
    public void AcceptsAFilterAtTheLengthCap()
    {
        var prefix = "params.p = '";
        var filter = prefix + new string('x', SearchLimits.MaxFilterLength - prefix.Length - 1) + "'";

        Assert.Equal(SearchLimits.MaxFilterLength, filter.Length);
        Assert.Single(RunFilter.Parse(filter).Clauses);
        SearchAssert.Rejects(() => RunFilter.Parse(filter + " "), "Filter string is too long: 16385 characters, the maximum is 16384.");
    }

    [Fact]
    public void TruncatesTheEchoedClauseOfALongInvalidFilter()
    {
        var tail = "OR params.p = '" + new string('x', 300) + "'";

        SearchAssert.Rejects(
            () => RunFilter.Parse("metrics.a > 1 " + tail),
            $"Invalid clause(s) in filter string: '{tail[..200]}...'");
    }

    [Fact]
    public void RejectsAnOversizedInList()
    {
        var filter = "attributes.run_id IN (" + string.Join(',', Enumerable.Repeat("'a'", SearchLimits.MaxInListValues + 1)) + ")";

        SearchAssert.Rejects(() => RunFilter.Parse(filter), "IN list has 1001 values, the maximum is 1000.");
        Assert.Single(RunFilter.Parse("attributes.run_id IN (" + string.Join(',', Enumerable.Repeat("'a'", SearchLimits.MaxInListValues)) + ")").Clauses);
    }
}
