using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Webhooks;

namespace Tracker.Core.Promotions;

/// <summary>
/// Server-side promotions with a regression gate (issue 10 §1). A request is validated, stored <c>pending</c> and
/// announced by one queue message that carries only the promotion's id (and the trace context): the consumer trusts
/// nothing else in it, reads the stored request, validates it again and checks again that the requester still holds
/// EDIT on the model. Then it evaluates the gate from the versions' metrics and either records <c>rejected</c> with the
/// figures or applies the transition or alias and the version's promotion tag in one registry write and records
/// <c>succeeded</c>. Every status change is a replace under the row's ETag and only ever leaves <c>pending</c>, so a
/// redelivered (or concurrently delivered) message changes nothing twice.
/// </summary>
public sealed class PromotionService
{
    public const string QueueName = "model-promotions";
    public const string PoisonQueueName = QueueName + "-poison";
    private const int MaxRaces = 5;

    private readonly PromotionStore _promotions;
    private readonly RegistryStore _registry;
    private readonly TrackingStore _tracking;
    private readonly AuthStore _auth;
    private readonly AuthOptions _authOptions;
    private readonly QueueClient _queue;
    private readonly TimeProvider _time;
    private readonly ILogger<PromotionService> _logger;
    private readonly OnceUntilSuccess _queueCreated;
    private readonly WebhookPublisher? _webhooks;
    private readonly LifecycleQueue? _lifecycle;

    public PromotionService(
        PromotionStore promotions, RegistryStore registry, TrackingStore tracking, AuthStore auth, IOptions<AuthOptions> authOptions,
        QueueServiceClient queues, IOptions<StorageOptions> storage, TimeProvider time, ILogger<PromotionService> logger, WebhookPublisher webhooks,
        LifecycleQueue lifecycle)
        : this(promotions, registry, tracking, auth, authOptions, queues.GetQueueClient(storage.Value.QueueName(QueueName)), time, logger, webhooks, lifecycle)
    {
    }

    /// <summary>With a queue of its own: tests use a unique queue per class, as they do tables (and no webhooks unless given).</summary>
    internal PromotionService(
        PromotionStore promotions, RegistryStore registry, TrackingStore tracking, AuthStore auth, IOptions<AuthOptions> authOptions,
        QueueClient queue, TimeProvider time, ILogger<PromotionService> logger, WebhookPublisher? webhooks = null, LifecycleQueue? lifecycle = null)
    {
        _webhooks = webhooks;
        _lifecycle = lifecycle;
        _promotions = promotions;
        _registry = registry;
        _tracking = tracking;
        _auth = auth;
        _authOptions = authOptions.Value;
        _queue = queue;
        _time = time;
        _logger = logger;
        _queueCreated = new OnceUntilSuccess(() => StorageErrors.Call(() => _queue.CreateIfNotExistsAsync()));
    }

    /// <summary>Validates the request (the model version must exist), stores it pending and enqueues its message.</summary>
    public async Task<Promotion> RequestAsync(string requester, PromotionRequest request, CancellationToken ct)
    {
        request = PromotionValidation.Validate(request);
        var version = await _registry.GetModelVersionAsync(request.Name, request.Version, ct);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var promotion = new Promotion(
            PromotionStore.NewId(now), version.Name, request.Version, request.Target, request.ArchiveExisting, request.Gate,
            PromotionStatus.Pending, requester, now, now, null, null);
        await _promotions.AddAsync(promotion, ct);
        var message = new JsonObject
        {
            ["promotion_id"] = promotion.Id,
            [QueueTrace.Property] = QueueTrace.CurrentTraceParent(),
        }.ToJsonString();
        try
        {
            await _queueCreated.RunAsync().WaitAsync(ct);
            await StorageErrors.Call(() => _queue.SendMessageAsync(message, ct));
        }
        catch (Exception e) when (e is MlflowException or OperationCanceledException)
        {
            // Never left pending with no message to decide it: the caller sees the error and may ask again.
            var failed = Decided(promotion, PromotionStatus.Failed, null, "The promotion could not be queued: " + e.Message);
            if (await _promotions.GetAsync(promotion.Id, CancellationToken.None) is var (_, etag) &&
                await _promotions.TryReplaceAsync(failed, etag, CancellationToken.None) is not null)
                await PublishOutcomeAsync(failed);
            throw;
        }
        _logger.LogInformation("Promotion {PromotionId} of {Model} version {Version} to {Target} requested by {Requester}",
            promotion.Id, promotion.Name, promotion.Version, promotion.Target, requester);
        return promotion;
    }

    public async Task<Promotion> GetAsync(string id, CancellationToken ct) =>
        (await _promotions.GetAsync(id, ct))?.Promotion ?? throw MlflowException.NotFound($"Promotion with id={Echo.Truncate(id)} not found");

    public Task<Tracker.Core.Tracking.Page<Promotion>> SearchAsync(string name, int maxResults, string? pageToken, CancellationToken ct) =>
        _promotions.SearchAsync(RegistryNames.Canonical(name), maxResults, pageToken, ct);

    /// <summary>
    /// The consumer of <see cref="QueueName"/>. A message that does not name a pending promotion is dropped with a
    /// warning (nothing in it is trusted, so there is nothing to retry). A failure to reach storage is thrown, so the
    /// queue delivers the message again; after the host's maxDequeueCount it lands in the poison queue.
    /// </summary>
    public async Task ProcessAsync(QueueMessage message, CancellationToken ct)
    {
        if (PromotionIdOf(message) is not { } id) return;
        using var activity = StartActivity(message, id);
        for (var race = 0; ; race++)
        {
            if (await _promotions.GetAsync(id, ct) is not var (promotion, etag))
            {
                _logger.LogWarning("Promotion message {MessageId} names no promotion; dropped", message.Id);
                return;
            }
            if (!promotion.IsPending) return; // a redelivery: decided already
            Promotion? outcome;
            try
            {
                (outcome, etag) = await DecideAsync(promotion, etag, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Kept on the pending promotion, so the poison consumer can say why it failed; the queue retries.
                _logger.LogWarning(e, "Promotion {PromotionId}: delivery {DequeueCount} failed", id, message.DequeueCount);
                if (await _promotions.GetAsync(id, CancellationToken.None) is var (current, currentETag) && current.IsPending)
                {
                    var attempt = current with { Reason = $"Delivery {message.DequeueCount} failed: {Echo.Truncate(e.Message)}" };
                    await _promotions.TryReplaceAsync(attempt, currentETag, CancellationToken.None);
                }
                throw;
            }
            if (outcome is not null && await _promotions.TryReplaceAsync(outcome, etag, ct) is not null)
            {
                _logger.LogInformation("Promotion {PromotionId} {Status}: {Reason}", id, outcome!.Status, outcome.Reason);
                await PublishOutcomeAsync(outcome);
                return;
            }
            if (race >= MaxRaces) throw StorageErrors.TooMuchContention("the promotion");
        }
    }

    /// <summary>The consumer of <see cref="PoisonQueueName"/>: the promotion whose message kept failing is <c>failed</c>.</summary>
    public async Task RecordPoisonAsync(QueueMessage message, CancellationToken ct)
    {
        if (PromotionIdOf(message) is not { } id) return;
        for (var race = 0; ; race++)
        {
            if (await _promotions.GetAsync(id, ct) is not var (promotion, etag) || !promotion.IsPending) return;
            var failed = Decided(promotion, PromotionStatus.Failed, promotion.Figures,
                "Processing the promotion failed repeatedly; its message was moved to the poison queue." +
                (promotion.Reason is { } last ? " " + last : ""));
            if (await _promotions.TryReplaceAsync(failed, etag, ct) is not null)
            {
                await PublishOutcomeAsync(failed);
                return;
            }
            if (race >= MaxRaces) throw StorageErrors.TooMuchContention("the promotion");
        }
    }

    /// <summary>
    /// The webhook events of a recorded outcome: <c>promotion.&lt;status&gt;</c> with the promotion as the API answers it,
    /// and for an applied alias MLflow's <c>model_version_alias.created</c>, as if the alias had been set by hand. Sent
    /// once per recorded outcome, after it is recorded (publishing never throws).
    /// </summary>
    private async Task PublishOutcomeAsync(Promotion outcome)
    {
        if (_webhooks is null || WebhookEvents.ForPromotionStatus(outcome.Status) is not { } e) return;
        var model = RegistryNames.TryCanonical(outcome.Name) ?? outcome.Name;
        if (outcome.Status == PromotionStatus.Succeeded && outcome.Target.Alias is { } alias)
            await _webhooks.PublishAsync(WebhookEvents.ModelVersionAliasCreated, model, WebhookPayloads.ModelVersionAliasCreated(model, alias, outcome.Version));
        await _webhooks.PublishAsync(e, model, WebhookPayloads.Promotion(outcome));
    }

    /// <summary>
    /// What becomes of a pending promotion: applied and succeeded, or rejected or failed with the reason; with the ETag
    /// to record it under. Null when another delivery changed the promotion meanwhile (read it again).
    /// </summary>
    private async Task<(Promotion? Outcome, Azure.ETag ETag)> DecideAsync(Promotion promotion, Azure.ETag etag, CancellationToken ct)
    {
        PromotionRequest request;
        try
        {
            request = PromotionValidation.Validate(new PromotionRequest(
                promotion.Name, promotion.Version, promotion.Target, promotion.ArchiveExisting, promotion.Gate));
        }
        catch (MlflowException e)
        {
            return (Decided(promotion, PromotionStatus.Failed, null, "The stored request is not valid: " + e.Message), etag);
        }
        if (await RequesterMayEditAsync(promotion.Requester, promotion.Name, ct) is false)
            return (Decided(promotion, PromotionStatus.Rejected, null,
                $"The requester '{promotion.Requester}' no longer holds EDIT on registered model '{promotion.Name}'."), etag);
        try
        {
            for (var race = 0; ; race++)
            {
                var candidate = await _registry.GetModelVersionAsync(request.Name, request.Version, ct);
                // Applied by an earlier delivery that stopped before recording it: record it now, never apply twice.
                if (candidate.Tags.Any(t => t.Key == RegistryStore.PromotionTag && t.Value == promotion.Id) && Holds(candidate, request.Target))
                    return (Decided(promotion, PromotionStatus.Succeeded, promotion.Figures, null), etag);
                var (figures, refusal, baseline) = await EvaluateGateAsync(request, candidate, ct);
                if (refusal is not null) return (Decided(promotion, PromotionStatus.Rejected, figures, refusal), etag);
                // The figures are recorded before the registry changes, so a delivery that finds the promotion applied
                // (the version's tag) records them too; and only one of two concurrent deliveries gets past here.
                if (figures is not null)
                {
                    if (await _promotions.TryReplaceAsync(promotion with { Figures = figures }, etag, ct) is not { } recorded) return (null, etag);
                    (promotion, etag) = (promotion with { Figures = figures }, recorded);
                }
                if (await _registry.ApplyPromotionWithChangesAsync(request.Name, request.Version, request.Target.Stage, request.Target.Alias,
                        request.ArchiveExisting, baseline, promotion.Id, ct) is { } stageChanged)
                {
                    if (_lifecycle is not null) await _lifecycle.StagesChangedAsync(request.Name, stageChanged, ct); // tiering
                    return (Decided(promotion, PromotionStatus.Succeeded, figures, null), etag);
                }
                // The target changed holder since the gate read it: compare against the new holder.
                if (race >= MaxRaces) throw StorageErrors.TooMuchContention("the registry");
            }
        }
        catch (MlflowException e) when (e.Code == ErrorCode.ResourceDoesNotExist || e.Code == ErrorCode.InvalidParameterValue)
        {
            return (Decided(promotion, PromotionStatus.Failed, null, e.Message), etag);
        }
    }

    private Promotion Decided(Promotion promotion, string status, GateFigures? figures, string? reason) =>
        promotion with { Status = status, Figures = figures, Reason = reason, LastUpdatedTimestamp = _time.GetUtcNow().ToUnixTimeMilliseconds() };

    private static bool Holds(ModelVersion version, PromotionTarget target) =>
        target.Stage is not null ? version.CurrentStage == target.Stage : version.Aliases.Contains(target.Alias!);

    /// <summary>Null when auth is off (there is no one to check); admins may, as they may everything.</summary>
    private async Task<bool?> RequesterMayEditAsync(string requester, string model, CancellationToken ct)
    {
        if (_authOptions.Disabled) return null;
        if (await _auth.GetUserAsync(requester, ct) is not { } user) return false;
        if (user.IsAdmin) return true;
        // Read fresh, not from PermissionLookup's cache: a grant revoked after the request must count.
        var grant = await _auth.GetRegisteredModelPermissionAsync(RegistryNames.Canonical(model), requester, ct);
        return (grant?.Permission ?? _authOptions.Default).CanUpdate;
    }

    /// <summary>
    /// The gate's figures and, when it refuses, why; with the baseline version the figures were read from (the
    /// registry write applies only while it still holds the target). No gate: nothing to compare.
    /// </summary>
    private async Task<(GateFigures? Figures, string? Refusal, long? Baseline)> EvaluateGateAsync(
        PromotionRequest request, ModelVersion candidate, CancellationToken ct)
    {
        if (request.Gate is not { } gate) return (null, null, null);
        var baselineVersion = gate.BaselineVersion ?? await _registry.GetPromotionTargetHolderAsync(request.Name, request.Target.Stage, request.Target.Alias, request.Version, ct);
        var candidateValue = await LatestMetricAsync(candidate, gate.Metric, ct);
        if (baselineVersion is null)
            return (new GateFigures(candidateValue, null, null, null),
                $"No version holds {request.Target} to compare against; name a 'baseline' version or request the promotion without a gate.",
                null);
        var baseline = await _registry.GetModelVersionAsync(request.Name, baselineVersion.Value, ct);
        var baselineValue = await LatestMetricAsync(baseline, gate.Metric, ct);
        if (candidateValue is null)
            return (new GateFigures(null, baselineValue, baselineVersion, null),
                $"Candidate version {candidate.Version} has no metric '{Echo.Truncate(gate.Metric)}'.", baselineVersion);
        if (baselineValue is null)
            return (new GateFigures(candidateValue, null, baselineVersion, null),
                $"Baseline version {baselineVersion} has no metric '{Echo.Truncate(gate.Metric)}'.", baselineVersion);
        var bound = Bound(gate, baselineValue.Value);
        var figures = new GateFigures(candidateValue, baselineValue, baselineVersion, bound);
        var lower = gate.Direction == GateDirection.LowerIsBetter;
        var within = lower ? candidateValue <= bound : candidateValue >= bound;
        return within
            ? (figures, null, gate.BaselineVersion is null ? baselineVersion : null)
            : (figures,
                string.Create(CultureInfo.InvariantCulture,
                    $"Candidate version {candidate.Version} has {gate.Metric} = {candidateValue}, outside the allowed bound {bound} " +
                    $"({(lower ? "at most" : "at least")}; baseline version {baselineVersion} has {baselineValue})."),
                baselineVersion);
    }

    /// <summary>
    /// The value the candidate must reach: the baseline worsened by max_regression, or improved by min_improvement when
    /// that is given and stricter. Relative to the baseline's magnitude, so a negative baseline moves the right way.
    /// </summary>
    public static double Bound(PromotionGate gate, double baseline)
    {
        var magnitude = Math.Abs(baseline);
        if (gate.Direction == GateDirection.LowerIsBetter)
        {
            var bound = baseline + magnitude * gate.MaxRegression;
            return gate.MinImprovement is { } min ? Math.Min(bound, baseline - magnitude * min) : bound;
        }
        var higher = baseline - magnitude * gate.MaxRegression;
        return gate.MinImprovement is { } improvement ? Math.Max(higher, baseline + magnitude * improvement) : higher;
    }

    /// <summary>The latest value of <paramref name="key"/> on the version's logged model where it has one, else on its source run.</summary>
    private async Task<double?> LatestMetricAsync(ModelVersion version, string key, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(version.ModelId))
        {
            var model = await _tracking.GetLoggedModelAsync(version.ModelId, ct);
            var latest = model?.Metrics.Where(m => m.Key == key).OrderBy(m => m.Step).ThenBy(m => m.Timestamp).LastOrDefault();
            if (latest is not null) return latest.Value;
        }
        if (string.IsNullOrEmpty(version.RunId)) return null;
        try
        {
            var run = await _tracking.GetRunAsync(version.RunId, ct);
            return run.Metrics.FirstOrDefault(m => m.Key == key)?.Value;
        }
        catch (MlflowException e) when (e.Code == ErrorCode.ResourceDoesNotExist)
        {
            return null;
        }
    }

    private string? PromotionIdOf(QueueMessage message)
    {
        try
        {
            using var doc = JsonDocument.Parse(message.Text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("promotion_id", out var id) && id.ValueKind == JsonValueKind.String &&
                PromotionStore.IsWellFormedId(id.GetString()))
                return id.GetString();
        }
        catch (JsonException)
        {
        }
        _logger.LogWarning("Malformed promotion message {MessageId} on {Queue}; dropped", message.Id, message.Queue);
        return null;
    }

    /// <summary>The consumer's own spans, exported with the rest.</summary>
    public const string ActivitySourceName = "Tracker.Promotions";
    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>A span inside the trigger's consumer span, which continues the request's trace (<see cref="QueueTrace"/>).</summary>
    private static Activity? StartActivity(QueueMessage message, string id)
    {
        var activity = Source.StartActivity("promotion.process");
        activity?.SetTag("tracker.promotion_id", id);
        activity?.SetTag("messaging.message.id", message.Id);
        return activity;
    }
}
