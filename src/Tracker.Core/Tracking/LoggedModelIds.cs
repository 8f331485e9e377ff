namespace Tracker.Core.Tracking;

/// <summary>
/// Logged model ids look like MLflow's (<c>m-</c> + 32 lowercase hex), but, as <see cref="RunIds"/> does for runs, the
/// last eight hex digits carry the experiment id: a model's rows are partitioned by experiment, and a permission check
/// learns the model's experiment from the id alone, with no storage read.
/// </summary>
public static class LoggedModelIds
{
    public const string Prefix = "m-";

    /// <summary>A run id's scheme (random hex, then the experiment in the last eight digits) behind <c>m-</c>.</summary>
    public static string New(string experimentId) => Prefix + RunIds.New(experimentId);

    /// <summary>The experiment a model id belongs to, or null for an id Tracker never issued (so: no such model).</summary>
    public static string? ExperimentOf(string? modelId) =>
        modelId is not null && modelId.StartsWith(Prefix, StringComparison.Ordinal) ? RunIds.ExperimentOf(modelId[Prefix.Length..]) : null;

    /// <summary><c>mlflow-artifacts:/&lt;exp&gt;/models/&lt;model_id&gt;/artifacts</c>, as MLflow's proxy mode has it (spec §6.2).</summary>
    public static string ArtifactUri(string experimentId, string modelId) =>
        $"{RunIds.ExperimentArtifactLocation(experimentId)}/models/{modelId}/artifacts";

    /// <summary>MLflow's message for a missing (or deleted) logged model; clients match on it.</summary>
    public static MlflowException NotFound(string modelId) =>
        MlflowException.NotFound($"Logged model with ID '{Echo.Truncate(modelId)}' not found.");
}
