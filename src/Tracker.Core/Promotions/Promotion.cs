using Tracker.Core.Registry;

namespace Tracker.Core.Promotions;

// Tracker's promotion API (issue 10 §1): small wire-contract records grouped here on purpose (STYLE.md §8).

/// <summary>A promotion's status: pending until the queue-triggered consumer decides, then one of the other three, for good.</summary>
public static class PromotionStatus
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Rejected = "rejected";
    public const string Failed = "failed";
}

/// <summary>How the gate reads its metric.</summary>
public static class GateDirection
{
    public const string LowerIsBetter = "lower_is_better";
    public const string HigherIsBetter = "higher_is_better";
}

/// <summary>Exactly one of a stage (Staging or Production) or an alias.</summary>
public sealed record PromotionTarget(string? Stage, string? Alias)
{
    public override string ToString() => Stage is not null ? $"stage {Stage}" : $"alias @{Alias}";
}

/// <summary>
/// The regression gate: the candidate's latest <see cref="Metric"/> may be worse than the baseline's by at most
/// <see cref="MaxRegression"/> (relative), and must be better by at least <see cref="MinImprovement"/> when given.
/// <see cref="BaselineVersion"/> null: the version holding the target when the message is processed.
/// </summary>
public sealed record PromotionGate(string Metric, string Direction, double MaxRegression, double? MinImprovement, long? BaselineVersion);

public sealed record PromotionRequest(string Name, long Version, PromotionTarget Target, bool ArchiveExisting, PromotionGate? Gate);

/// <summary>What the gate compared: both values, the baseline version and the bound the candidate had to meet.</summary>
public sealed record GateFigures(double? CandidateValue, double? BaselineValue, long? BaselineVersion, double? AllowedBound);

public sealed record Promotion(
    string Id,
    string Name,
    long Version,
    PromotionTarget Target,
    bool ArchiveExisting,
    PromotionGate? Gate,
    string Status,
    string Requester,
    long CreationTimestamp,
    long LastUpdatedTimestamp,
    GateFigures? Figures,
    string? Reason)
{
    public bool IsPending => Status == PromotionStatus.Pending;
}

/// <summary>The request's rules, checked when it is made and again by the consumer (a message is not trusted).</summary>
public static class PromotionValidation
{
    public static PromotionRequest Validate(PromotionRequest request)
    {
        if (request.Version < 1) throw MlflowException.InvalidParameter($"Promotion version must be a positive integer, got {request.Version}.");
        var target = request.Target;
        if ((target.Stage is null) == (target.Alias is null))
            throw MlflowException.InvalidParameter("Promotion target must name exactly one of 'stage' or 'alias'.");
        if (target.Stage is not null)
        {
            var stage = ModelStages.Parse(target.Stage);
            if (stage is not (ModelStages.Staging or ModelStages.Production))
                throw MlflowException.InvalidParameter($"A promotion's target stage must be Staging or Production, got '{Echo.Truncate(target.Stage)}'.");
            target = target with { Stage = stage };
        }
        else
        {
            RegistryValidation.Alias(target.Alias);
        }
        if (request.Gate is { } gate)
        {
            if (string.IsNullOrWhiteSpace(gate.Metric)) throw MlflowException.InvalidParameter("The gate's 'metric' must name a metric key.");
            if (gate.Direction is not (GateDirection.LowerIsBetter or GateDirection.HigherIsBetter))
                throw MlflowException.InvalidParameter(
                    $"The gate's 'direction' must be '{GateDirection.LowerIsBetter}' or '{GateDirection.HigherIsBetter}', got '{Echo.Truncate(gate.Direction)}'.");
            if (!double.IsFinite(gate.MaxRegression) || gate.MaxRegression < 0)
                throw MlflowException.InvalidParameter($"The gate's 'max_regression' must be a relative amount of 0 or more, got {gate.MaxRegression}.");
            if (gate.MinImprovement is { } min && (!double.IsFinite(min) || min < 0))
                throw MlflowException.InvalidParameter($"The gate's 'min_improvement' must be a relative amount of 0 or more, got {min}.");
            if (gate.BaselineVersion is < 1)
                throw MlflowException.InvalidParameter($"The gate's 'baseline' must be a version number, got {gate.BaselineVersion}.");
        }
        return request with { Target = target };
    }
}
