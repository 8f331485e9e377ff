namespace Tracker.Core.Search;

/// <summary>The entity table for <c>runs/search</c> (spec §5.2; MLflow's <c>SearchUtils</c>).</summary>
internal sealed class RunSearchGrammar : SearchGrammar
{
    public static readonly RunSearchGrammar Instance = new();

    // Static fields initialise in order: these come before the schema that uses them.
    private static readonly SearchOrderKey StartTimeDescending = new(SearchEntityType.Attribute, "start_time", Ascending: false);
    private static readonly SearchOrderKey RunIdAscending = new(SearchEntityType.Attribute, "run_id", Ascending: true);

    /// <summary>The run fields; <c>attributes.run_name</c> is the run's name, which MLflow keeps as the <c>mlflow.runName</c> tag.</summary>
    public static readonly SearchSchema<ISearchableRun> Schema = new SearchSchema<ISearchableRun>(Instance)
        .Text("run_id", r => r.RunId)
        .Text("run_name", r => r.RunName)
        .Text("status", r => r.Status)
        .Text("user_id", r => r.UserId)
        .Text("artifact_uri", r => r.ArtifactUri)
        .Number("start_time", r => r.StartTime)
        .Number("end_time", r => r.EndTime)
        .KeyedNumber(SearchEntityType.Metric, (r, key) => r.LatestMetric(key))
        .KeyedText(SearchEntityType.Param, (r, key) => r.Param(key))
        .KeyedText(SearchEntityType.Tag, (r, key) => r.Tag(key))
        .KeyedAnyOf(SearchEntityType.Dataset, r => r.Datasets, key => key switch
        {
            "name" => d => d.Name,
            "digest" => d => d.Digest,
            _ => d => d.Context,
        })
        .OrderByDefault(StartTimeDescending, RunIdAscending)
        .ThenBy(StartTimeDescending)
        .ThenBy(RunIdAscending, always: true)
        .RejectingRepeatedOrderKeys();

    private static readonly Dictionary<string, SearchEntityType> Entities = new(StringComparer.Ordinal)
    {
        ["metric"] = SearchEntityType.Metric,
        ["metrics"] = SearchEntityType.Metric,
        ["parameter"] = SearchEntityType.Param,
        ["parameters"] = SearchEntityType.Param,
        ["param"] = SearchEntityType.Param,
        ["params"] = SearchEntityType.Param,
        ["tag"] = SearchEntityType.Tag,
        ["tags"] = SearchEntityType.Tag,
        ["attribute"] = SearchEntityType.Attribute,
        ["attributes"] = SearchEntityType.Attribute,
        ["attr"] = SearchEntityType.Attribute,
        ["run"] = SearchEntityType.Attribute,
        ["dataset"] = SearchEntityType.Dataset,
        ["datasets"] = SearchEntityType.Dataset,
    };

    // Canonical string attributes first, then numeric ones, then MLflow's aliases (case-sensitive, as upstream).
    private static readonly string[] OrderByAttributeKeys =
        ["run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time", "created", "Created"];

    private static readonly string[] FilterAttributeKeys = [.. OrderByAttributeKeys, "run name", "Run name", "Run Name"];

    private static readonly HashSet<string> OrderByAttributes = new(OrderByAttributeKeys, StringComparer.Ordinal);
    private static readonly HashSet<string> FilterAttributes = new(FilterAttributeKeys, StringComparer.Ordinal);
    private static readonly HashSet<string> NumericAttributes = new(["start_time", "end_time", "created", "Created"], StringComparer.Ordinal);
    private static readonly HashSet<string> DatasetKeys = new(["name", "digest", "context"], StringComparer.Ordinal);

    private RunSearchGrammar()
    {
    }

    protected override (SearchEntityType Entity, string Key) ResolveIdentifier(SyntaxIdentifier identifier, bool forOrderBy)
    {
        if (identifier.Segments.Count == 1)
        {
            return CheckKey(SearchEntityType.Attribute, identifier.Segments[0].Content, forOrderBy);
        }

        // MLflow strips backticks (only) from the entity: `metrics`.acc is fine, "metrics".acc is not.
        var first = identifier.Segments[0];
        var entityText = first.Backticked ? first.Content : first.Text;
        if (!Entities.TryGetValue(entityText, out var entity))
        {
            throw MlflowException.InvalidParameter(
                $"Invalid entity type '{Echo.Truncate(entityText)}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']");
        }

        return CheckKey(entity, identifier.KeyAfterEntity, forOrderBy);
    }

    protected override bool IsNumericAttribute(string key) => NumericAttributes.Contains(key);

    protected override string CanonicalKey(SearchEntityType entity, string key) => entity != SearchEntityType.Attribute
        ? key
        : key switch
        {
            "created" or "Created" => "start_time",
            "run name" or "Run name" or "Run Name" => "run_name",
            _ => key,
        };

    protected override void ValidateComparator(SearchEntityType entity, string key, string comparator)
    {
        // Texts as in SearchUtils.is_metric / is_param / ...; the missing closing quotes are MLflow's
        // (the metric one is pinned by a recorded 2.10.2 response).
        switch (entity)
        {
            case SearchEntityType.Metric:
                Require(IsOneOf(comparator, NumericComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{NumericComparatorSet}");
                break;
            case SearchEntityType.Param:
                Require(IsOneOf(comparator, StringComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{ParamComparatorSet}'");
                break;
            case SearchEntityType.Tag:
                Require(IsOneOf(comparator, StringComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{ParamComparatorSet}");
                break;
            case SearchEntityType.Attribute when NumericAttributes.Contains(key):
                // MLflow prints the string-attribute set here (a copy-paste slip); we print the set that applies.
                Require(IsOneOf(comparator, NumericComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{NumericComparatorSet}");
                break;
            case SearchEntityType.Attribute:
                Require(IsOneOf(comparator, StringAndListComparators),
                    $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{StringAttributeComparatorSet}'");
                break;
            default:
                Require(IsOneOf(comparator, StringAndListComparators), $"Invalid comparator '{Echo.Truncate(comparator)}' not one of '{DatasetComparatorSet}");
                break;
        }
    }

    protected override SearchOrderKey ValidateOrderKey(SearchOrderKey key)
    {
        // The SQL store sorts on run columns, latest metrics, tags and params only.
        Require(key.Entity != SearchEntityType.Dataset, $"Invalid identifier type '{EntityName(key.Entity)}'");
        return key;
    }

    private static (SearchEntityType, string) CheckKey(SearchEntityType entity, string key, bool forOrderBy)
    {
        if (entity == SearchEntityType.Attribute)
        {
            var (valid, shown) = forOrderBy ? (OrderByAttributes, OrderByAttributeKeys) : (FilterAttributes, FilterAttributeKeys);
            Require(valid.Contains(key), $"Invalid attribute key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet(shown)}'");
        }
        else if (entity == SearchEntityType.Dataset)
        {
            Require(DatasetKeys.Contains(key),
                $"Invalid dataset key '{Echo.Truncate(key)}' specified. Valid keys are '{PythonSet("name", "digest", "context")}'");
        }

        return (entity, key);
    }
}
