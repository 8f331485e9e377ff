namespace Tracker.Core.Search;

/// <summary>What a search clause or order_by key refers to (MLflow's identifier types).</summary>
public enum SearchEntityType
{
    Metric,
    Param,
    Tag,
    /// <summary>A column of the searched entity itself (run_id, start_time, name, creation_time, ...).</summary>
    Attribute,
    /// <summary>A run's dataset inputs (name, digest, context).</summary>
    Dataset,
}
