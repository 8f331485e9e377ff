using Tracker.Core.Tracking;

namespace Tracker.Core.Registry;

// MLflow's model-registry entities, shaped like its protos (mlflow/protos/model_registry.proto). Small wire-contract
// records are grouped here on purpose (STYLE.md §8).

/// <summary>A model version's stage (MLflow's <c>model_registry/__init__.py</c> stages), matched case-insensitively.</summary>
public static class ModelStages
{
    public const string None = "None";
    public const string Staging = "Staging";
    public const string Production = "Production";
    public const string Archived = "Archived";

    /// <summary>In MLflow's order (its ALL_STAGES). Latest versions are NOT answered in this order but MLflow's: each stage where its lowest live version is.</summary>
    public static readonly IReadOnlyList<string> All = [None, Staging, Production, Archived];

    /// <summary>The canonical spelling of a stage, or a 400 with MLflow's message.</summary>
    public static string Parse(string stage) =>
        All.FirstOrDefault(s => string.Equals(s, stage, StringComparison.OrdinalIgnoreCase))
        ?? throw MlflowException.InvalidParameter(
            $"Invalid Model Version stage: {Echo.Truncate(stage)}. Value must be one of {string.Join(", ", All)}.");
}

/// <summary>MLflow's <c>ModelVersionStatus</c>: Tracker registers synchronously, so a version is READY when created.</summary>
public static class ModelVersionStatus
{
    public const string Ready = "READY";
}

public sealed record RegisteredModelAlias(string Alias, string Version);

/// <summary>
/// One version of a registered model. <see cref="Name"/> is the model's current name (a rename carries its versions).
/// <see cref="StorageLocation"/> is where the version's files are (what get-download-uri answers), resolved from
/// <see cref="Source"/> when the version was created; never sent as a field of its own.
/// </summary>
public sealed record ModelVersion(
    string Name,
    long Version,
    long CreationTimestamp,
    long LastUpdatedTimestamp,
    string? UserId,
    string CurrentStage,
    string Description,
    string Source,
    string? RunId,
    string Status,
    string RunLink,
    IReadOnlyList<KeyValue> Tags,
    IReadOnlyList<string> Aliases,
    string? ModelId,
    string StorageLocation);

/// <summary>
/// A registered model with what MLflow returns with it: its tags, its aliases and, per stage, the highest-numbered
/// version in that stage (<see cref="LatestVersions"/>, in the order of each stage's lowest live version, as MLflow).
/// </summary>
public sealed record RegisteredModel(
    string Name,
    long CreationTimestamp,
    long LastUpdatedTimestamp,
    string Description,
    IReadOnlyList<KeyValue> Tags,
    IReadOnlyList<RegisteredModelAlias> Aliases,
    IReadOnlyList<ModelVersion> LatestVersions,
    string? DeploymentJobId)
{
    /// <summary>The MLflow 3 prompt registry keeps prompts as registered models with this tag (spec §6.8).</summary>
    public const string PromptTag = "mlflow.prompt.is_prompt";

    public bool IsPrompt => HasPromptTag(Tags);

    public static bool HasPromptTag(IReadOnlyList<KeyValue> tags) =>
        tags.Any(t => t.Key == PromptTag && string.Equals(t.Value, "true", StringComparison.OrdinalIgnoreCase));
}

/// <summary>A stage transition's result, and the versions (of the same model) whose stage it changed.</summary>
public sealed record StageTransition(ModelVersion Version, IReadOnlyList<long> StageChanged);
