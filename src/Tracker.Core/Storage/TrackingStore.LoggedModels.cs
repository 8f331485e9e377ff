using Tracker.Core.Tracking;

namespace Tracker.Core.Storage;

// CONTRACT SKELETON for MLflow 3 logged models: the registry resolves models:/m-… sources through these two calls.
public sealed partial class TrackingStore
{
    /// <summary>The logged model, or null when it does not exist or was deleted.</summary>
    public Task<LoggedModel?> GetLoggedModelAsync(string modelId, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Upserts tags (MLflow's set_logged_model_tags); 404 when the model does not exist.</summary>
    public Task SetLoggedModelTagsAsync(string modelId, IReadOnlyList<KeyValue> tags, CancellationToken ct = default) =>
        throw new NotImplementedException();
}
