using Tracker.Core.Tracking;

namespace Tracker.Core.Search;

/// <summary>What a logged-models search reads of a model.</summary>
public interface ISearchableLoggedModel
{
    string ModelId { get; }
    string Name { get; }
    string? ModelType { get; }
    string Status { get; }
    string? SourceRunId { get; }
    long CreationTimestamp { get; }
    long LastUpdatedTimestamp { get; }
    IReadOnlyList<KeyValue> Tags { get; }
    IReadOnlyList<KeyValue> Params { get; }
    IReadOnlyList<LoggedModelMetric> Metrics { get; }
}

/// <summary>A <c>datasets</c> entry of logged-models/search: metric clauses consider only metrics of these datasets.</summary>
public sealed record LoggedModelDataset(string Name, string? Digest);

/// <summary>A structured <c>order_by</c> entry of logged-models/search (not a string, unlike the other searches).</summary>
public sealed record LoggedModelOrderBy(string FieldName, bool Ascending, string? DatasetName, string? DatasetDigest);

/// <summary>The entity table for <c>logged-models/search</c> (spec §2.4 #31; MLflow's <c>SearchLoggedModelsUtils</c>).</summary>
internal sealed class LoggedModelSearchGrammar : SearchGrammar
{
    public static readonly LoggedModelSearchGrammar Instance = new();

    internal static readonly string[] AttributeKeys =
    [
        "name", "model_id", "model_type", "status", "source_run_id",
        "creation_timestamp", "creation_time", "last_updated_timestamp", "last_updated_time",
    ];

    private LoggedModelSearchGrammar()
    {
    }

    protected override (SearchEntityType Entity, string Key) ResolveIdentifier(SyntaxIdentifier identifier, bool forOrderBy)
    {
        var key = identifier.Segments[0].Content;
        if (identifier.Segments.Count == 1)
        {
            Require(AttributeKeys.Contains(key, StringComparer.Ordinal),
                $"Invalid attribute key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet(AttributeKeys)}'");
            return (SearchEntityType.Attribute, key);
        }
        var entityText = identifier.Segments[0].Text;
        var entity = entityText switch
        {
            "attribute" or "attributes" => SearchEntityType.Attribute,
            "metric" or "metrics" => SearchEntityType.Metric,
            "param" or "params" => SearchEntityType.Param,
            "tag" or "tags" => SearchEntityType.Tag,
            _ => throw MlflowException.InvalidParameter(
                $"Invalid entity type '{Echo.Truncate(entityText)}'. Valid entity types are ('attribute', 'attributes', 'metric', 'metrics', 'param', 'params', 'tag', 'tags')"),
        };
        key = identifier.KeyAfterEntity;
        if (entity == SearchEntityType.Attribute)
            Require(AttributeKeys.Contains(key, StringComparer.Ordinal),
                $"Invalid attribute key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet(AttributeKeys)}'");
        return (entity, key);
    }

    protected override bool IsNumericAttribute(string key) =>
        key is "creation_timestamp" or "creation_time" or "last_updated_timestamp" or "last_updated_time";

    protected override string CanonicalKey(SearchEntityType entity, string key) => entity == SearchEntityType.Attribute
        ? key switch
        {
            "creation_time" => "creation_timestamp",
            "last_updated_time" => "last_updated_timestamp",
            _ => key,
        }
        : key;

    protected override void ValidateComparator(SearchEntityType entity, string key, string comparator)
    {
        if (entity == SearchEntityType.Metric || (entity == SearchEntityType.Attribute && IsNumericAttribute(key)))
            Require(IsOneOf(comparator, NumericComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{NumericComparatorSet}'");
        else
            Require(IsOneOf(comparator, StringComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{ParamComparatorSet}'");
    }
}

/// <summary>
/// A parsed logged-models filter: AND-ed clauses over attributes, params, tags and metrics. A metric clause looks at
/// the model's latest value of that metric (largest step, then timestamp), among the given datasets when any are.
/// </summary>
public sealed class LoggedModelFilter
{
    private readonly ClauseMatcher[] _matchers;
    private readonly IReadOnlyList<LoggedModelDataset> _datasets;

    private LoggedModelFilter(IReadOnlyList<SearchClause> clauses, IReadOnlyList<LoggedModelDataset> datasets)
    {
        _matchers = clauses.Select(c => new ClauseMatcher(c)).ToArray();
        _datasets = datasets;
    }

    public static LoggedModelFilter Parse(string? filter, IReadOnlyList<LoggedModelDataset> datasets) =>
        new(LoggedModelSearchGrammar.Instance.ParseFilter(filter), datasets);

    public bool Matches(ISearchableLoggedModel model)
    {
        foreach (var matcher in _matchers)
        {
            var clause = matcher.Clause;
            var matched = clause.Entity switch
            {
                SearchEntityType.Tag => matcher.Matches(Last(model.Tags, clause.Key)),
                SearchEntityType.Param => matcher.Matches(Last(model.Params, clause.Key)),
                SearchEntityType.Metric => matcher.Matches(LatestMetric(model, clause.Key, _datasets)?.Value),
                _ => clause.Key switch
                {
                    "creation_timestamp" => matcher.Matches(model.CreationTimestamp),
                    "last_updated_timestamp" => matcher.Matches(model.LastUpdatedTimestamp),
                    "name" => matcher.Matches(model.Name),
                    "model_id" => matcher.Matches(model.ModelId),
                    "model_type" => matcher.Matches(model.ModelType),
                    "status" => matcher.Matches(model.Status),
                    _ => matcher.Matches(model.SourceRunId),
                },
            };
            if (!matched) return false;
        }
        return true;
    }

    private static string? Last(IReadOnlyList<KeyValue> items, string key) => items.LastOrDefault(i => i.Key == key)?.Value;

    /// <summary>The latest point of a metric (MLflow's rule: largest step, then timestamp), limited to the datasets when given.</summary>
    internal static LoggedModelMetric? LatestMetric(ISearchableLoggedModel model, string key, IReadOnlyList<LoggedModelDataset> datasets)
    {
        LoggedModelMetric? latest = null;
        foreach (var m in model.Metrics)
        {
            if (m.Key != key) continue;
            if (datasets.Count > 0 && !datasets.Any(d => d.Name == m.DatasetName && (d.Digest is null || d.Digest == m.DatasetDigest))) continue;
            if (latest is null || (m.Step, m.Timestamp) .CompareTo((latest.Step, latest.Timestamp)) > 0) latest = m;
        }
        return latest;
    }
}

/// <summary>
/// The order of logged-models/search: the given keys (an attribute or <c>metrics.&lt;name&gt;</c>, optionally for one
/// dataset), then creation time descending, then model id; a model without the ordering metric sorts last either way.
/// </summary>
public sealed class LoggedModelOrdering : IComparer<ISearchableLoggedModel>
{
    private readonly IReadOnlyList<LoggedModelOrderBy> _keys;

    public LoggedModelOrdering(IReadOnlyList<LoggedModelOrderBy> keys)
    {
        foreach (var key in keys)
        {
            if (key.FieldName.StartsWith("metrics.", StringComparison.Ordinal) && key.FieldName.Length > "metrics.".Length) continue;
            if (!LoggedModelSearchGrammar.AttributeKeys.Contains(key.FieldName, StringComparer.Ordinal))
                throw MlflowException.InvalidParameter(
                    $"Invalid order by field name: {Echo.Truncate(key.FieldName)}. Expected one of {string.Join(", ", LoggedModelSearchGrammar.AttributeKeys)} or 'metrics.<name>'.");
        }
        if (keys.GroupBy(k => Canonical(k.FieldName)).Any(g => g.Count() > 1))
            throw MlflowException.InvalidParameter("order_by contains a field more than once.");
        _keys = keys;
    }

    public int Compare(ISearchableLoggedModel? x, ISearchableLoggedModel? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return 1;
        if (y is null) return -1;
        foreach (var key in _keys)
        {
            var c = CompareBy(key, x, y);
            if (c != 0) return c;
        }
        var byCreation = y.CreationTimestamp.CompareTo(x.CreationTimestamp);
        return byCreation != 0 ? byCreation : string.CompareOrdinal(x.ModelId, y.ModelId);
    }

    private static int CompareBy(LoggedModelOrderBy key, ISearchableLoggedModel x, ISearchableLoggedModel y)
    {
        if (key.FieldName.StartsWith("metrics.", StringComparison.Ordinal))
        {
            IReadOnlyList<LoggedModelDataset> datasets = key.DatasetName is { } name ? [new LoggedModelDataset(name, key.DatasetDigest)] : [];
            var metric = key.FieldName["metrics.".Length..];
            var a = LoggedModelFilter.LatestMetric(x, metric, datasets)?.Value;
            var b = LoggedModelFilter.LatestMetric(y, metric, datasets)?.Value;
            if (a is null || b is null) return a is null == b is null ? 0 : a is null ? 1 : -1; // nulls last
            return key.Ascending ? a.Value.CompareTo(b.Value) : b.Value.CompareTo(a.Value);
        }
        var c = Canonical(key.FieldName) switch
        {
            "creation_timestamp" => x.CreationTimestamp.CompareTo(y.CreationTimestamp),
            "last_updated_timestamp" => x.LastUpdatedTimestamp.CompareTo(y.LastUpdatedTimestamp),
            "name" => string.CompareOrdinal(x.Name, y.Name),
            "model_id" => string.CompareOrdinal(x.ModelId, y.ModelId),
            "model_type" => string.CompareOrdinal(x.ModelType, y.ModelType),
            "status" => string.CompareOrdinal(x.Status, y.Status),
            _ => string.CompareOrdinal(x.SourceRunId, y.SourceRunId),
        };
        return key.Ascending ? c : -c;
    }

    private static string Canonical(string field) => field switch
    {
        "creation_time" => "creation_timestamp",
        "last_updated_time" => "last_updated_timestamp",
        _ => field,
    };
}
