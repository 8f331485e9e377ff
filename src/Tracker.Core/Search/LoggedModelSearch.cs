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

/// <summary>
/// The entity table for <c>logged-models/search</c> (spec §2.4 #31; MLflow's <c>SearchLoggedModelsUtils</c> and
/// SQL store): text attributes, which sort as a plain SQLite ORDER BY does (a missing one lowest); creation and update
/// times; tags and params by key; and metrics by key, each the model's latest point of it (largest step, then
/// timestamp) among the datasets the request gives for it, taken as logged. Default order, and tie-breakers after an
/// explicit one: creation time descending, then model id.
/// </summary>
internal sealed class LoggedModelSearchGrammar : SearchGrammar
{
    public static readonly LoggedModelSearchGrammar Instance = new();

    private static readonly SearchOrderKey CreationDescending = new(SearchEntityType.Attribute, "creation_timestamp", Ascending: false);
    private static readonly SearchOrderKey ModelIdAscending = new(SearchEntityType.Attribute, "model_id", Ascending: true);

    internal static readonly string[] AttributeKeys =
    [
        "name", "model_id", "model_type", "status", "source_run_id",
        "creation_timestamp", "creation_time", "last_updated_timestamp", "last_updated_time",
    ];

    private LoggedModelSearchGrammar()
    {
    }

    /// <summary>
    /// The field table for one request: which datasets a metric is read among depends on the request (its
    /// <c>datasets</c> for the filter, each order key's own dataset for the order), so it is built per request; it is a
    /// handful of delegates.
    /// </summary>
    public static SearchSchema<ISearchableLoggedModel> Schema(Func<string, IReadOnlyList<LoggedModelDataset>> datasetsOfMetric) =>
        new SearchSchema<ISearchableLoggedModel>(Instance)
            .Text("name", m => m.Name, nullsLowest: true)
            .Text("model_id", m => m.ModelId, nullsLowest: true)
            .Text("model_type", m => m.ModelType, nullsLowest: true)
            .Text("status", m => m.Status, nullsLowest: true)
            .Text("source_run_id", m => m.SourceRunId, nullsLowest: true)
            .Number("creation_timestamp", m => m.CreationTimestamp)
            .Number("last_updated_timestamp", m => m.LastUpdatedTimestamp)
            .KeyedText(SearchEntityType.Tag, (m, key) => Last(m.Tags, key))
            .KeyedText(SearchEntityType.Param, (m, key) => Last(m.Params, key))
            .KeyedNumber(SearchEntityType.Metric, (m, key) => LatestMetric(m, key, datasetsOfMetric(key))?.Value, asLogged: true)
            .OrderByDefault(CreationDescending, ModelIdAscending)
            .ThenBy(CreationDescending)
            .ThenBy(ModelIdAscending);

    /// <summary>
    /// Resolves a structured order_by to order keys (attributes canonical, <c>metrics.&lt;name&gt;</c> as metric keys);
    /// throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) for an unknown field or one named twice.
    /// </summary>
    public static IReadOnlyList<SearchOrderKey> ResolveOrderBy(IReadOnlyList<LoggedModelOrderBy> orderBy)
    {
        foreach (var key in orderBy)
        {
            if (IsMetricField(key.FieldName)) continue;
            if (!AttributeKeys.Contains(key.FieldName, StringComparer.Ordinal))
                throw MlflowException.InvalidParameter(
                    $"Invalid order by field name: {Echo.Truncate(key.FieldName)}. Expected one of {string.Join(", ", AttributeKeys)} or 'metrics.<name>'.");
        }
        var keys = orderBy.Select(k => IsMetricField(k.FieldName)
            ? new SearchOrderKey(SearchEntityType.Metric, k.FieldName["metrics.".Length..], k.Ascending)
            : new SearchOrderKey(SearchEntityType.Attribute, Instance.CanonicalKey(SearchEntityType.Attribute, k.FieldName), k.Ascending)).ToList();
        if (keys.GroupBy(k => (k.Entity, k.Key)).Any(g => g.Count() > 1))
            throw MlflowException.InvalidParameter("order_by contains a field more than once.");
        return keys;
    }

    private static bool IsMetricField(string fieldName) =>
        fieldName.StartsWith("metrics.", StringComparison.Ordinal) && fieldName.Length > "metrics.".Length;

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

    private static string? Last(IReadOnlyList<KeyValue> items, string key) => items.LastOrDefault(i => i.Key == key)?.Value;

    /// <summary>The latest point of a metric (MLflow's rule: largest step, then timestamp), limited to the datasets when given.</summary>
    private static LoggedModelMetric? LatestMetric(ISearchableLoggedModel model, string key, IReadOnlyList<LoggedModelDataset> datasets)
    {
        LoggedModelMetric? latest = null;
        foreach (var m in model.Metrics)
        {
            if (m.Key != key) continue;
            if (datasets.Count > 0 && !datasets.Any(d => d.Name == m.DatasetName && (d.Digest is null || d.Digest == m.DatasetDigest))) continue;
            if (latest is null || (m.Step, m.Timestamp).CompareTo((latest.Step, latest.Timestamp)) > 0) latest = m;
        }
        return latest;
    }
}

/// <summary>A parsed logged-models filter: the generic filter over the logged-model table, metrics read among the request's datasets.</summary>
public static class LoggedModelFilter
{
    /// <summary>Throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) when the filter is not valid.</summary>
    public static SearchFilter<ISearchableLoggedModel> Parse(string? filter, IReadOnlyList<LoggedModelDataset> datasets) =>
        LoggedModelSearchGrammar.Schema(_ => datasets).ParseFilter(filter);
}

/// <summary>
/// The order of logged-models/search: the generic ordering over the logged-model table for a structured order_by, each
/// metric key read among its own dataset when it names one; a model without the ordering metric sorts last either way.
/// </summary>
public sealed class LoggedModelOrdering : IComparer<ISearchableLoggedModel>
{
    private readonly SearchOrdering<ISearchableLoggedModel> order;

    /// <summary>Throws <see cref="MlflowException"/> (INVALID_PARAMETER_VALUE) for an unknown field or one named twice.</summary>
    public LoggedModelOrdering(IReadOnlyList<LoggedModelOrderBy> orderBy)
    {
        var keys = LoggedModelSearchGrammar.ResolveOrderBy(orderBy);
        // A metric appears at most once in the order, so its name tells which dataset its key reads.
        var datasetsOfMetric = keys.Zip(orderBy)
            .Where(k => k.First.Entity == SearchEntityType.Metric && k.Second.DatasetName is not null)
            .ToDictionary(k => k.First.Key, IReadOnlyList<LoggedModelDataset> (k) => [new LoggedModelDataset(k.Second.DatasetName!, k.Second.DatasetDigest)]);
        order = LoggedModelSearchGrammar.Schema(metric => datasetsOfMetric.GetValueOrDefault(metric, [])).Ordering(keys);
    }

    public int Compare(ISearchableLoggedModel? x, ISearchableLoggedModel? y) => order.Compare(x, y);
}
