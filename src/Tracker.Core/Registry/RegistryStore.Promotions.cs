using Azure.Data.Tables;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Registry;

// The registry write a promotion makes: the stage transition (or alias move) and the version tag that names the
// promotion, in one transaction, so the registry never shows a promoted version without the promotion that did it.
public sealed partial class RegistryStore
{
    /// <summary>The version tag naming the promotion that last moved the version.</summary>
    public const string PromotionTag = "tracker.promotion_id";

    /// <summary>
    /// Moves <paramref name="version"/> into <paramref name="stage"/> (archiving the other holders with
    /// <paramref name="archiveExisting"/>) or points <paramref name="alias"/> at it, and tags it with
    /// <paramref name="promotionId"/>, in one write. When <paramref name="expectedHolder"/> is given (the baseline the
    /// gate compared against), the write happens only while that version still holds the target; otherwise it answers
    /// false and changes nothing, so the caller evaluates the gate again against the new holder.
    /// </summary>
    public async Task<bool> ApplyPromotionAsync(
        string name, long version, string? stage, string? alias, bool archiveExisting, long? expectedHolder, string promotionId,
        CancellationToken ct = default) =>
        await ApplyPromotionWithChangesAsync(name, version, stage, alias, archiveExisting, expectedHolder, promotionId, ct) is not null;

    /// <summary>As <see cref="ApplyPromotionAsync"/>; when applied, the versions whose stage the write changed (none for
    /// an alias), else null.</summary>
    public Task<IReadOnlyList<long>?> ApplyPromotionWithChangesAsync(
        string name, long version, string? stage, string? alias, bool archiveExisting, long? expectedHolder, string promotionId,
        CancellationToken ct = default) =>
        WriteAsync<IReadOnlyList<long>?>("the registry", async ct =>
        {
            var (model, etag) = await ReadModelAsync(name, ct) ?? throw VersionNotFound(name, version);
            var doc = await RequireVersionAsync(model, version, ct);
            if (expectedHolder is { } holder && holder != version && HolderOf(model, stage, alias, version) != holder)
                return (null, null);
            var now = Now();
            var changed = new List<VersionDocument> { doc };
            var stageChanged = new List<long>();
            if (stage is not null)
            {
                var target = ModelStages.Parse(stage);
                if (archiveExisting) changed.AddRange(await ArchiveOthersAsync(model, version, target, now, ct));
                stageChanged.AddRange(changed.Skip(1).Select(v => v.Version));
                if (doc.CurrentStage != target) stageChanged.Insert(0, version);
                doc.CurrentStage = target;
                model.Stages[version] = target;
            }
            else
            {
                model.Aliases[alias ?? throw new ArgumentNullException(nameof(alias))] = version;
            }
            SetTag(doc.Tags, PromotionTag, promotionId);
            doc.LastUpdatedTimestamp = now;
            model.LastUpdatedTimestamp = now;
            await RecomputeLatestAsync(model, changed, ct);
            var actions = new List<TableTransactionAction> { ReplaceModel(model, etag) };
            actions.AddRange(changed.Select(v => ReplaceVersion(model.Id, v)));
            return (actions, stageChanged);
        }, ct);

    /// <summary>The version holding <paramref name="stage"/> or <paramref name="alias"/> other than <paramref name="except"/> (the candidate), or null.</summary>
    public Task<long?> GetPromotionTargetHolderAsync(string name, string? stage, string? alias, long except, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var (model, _) = await RequireModelAsync(name, ct);
            var holder = HolderOf(model, stage, alias, except);
            return holder == except ? null : holder;
        }, ct);

    /// <summary>The version holding a stage (the highest-numbered one in it, other than <paramref name="except"/>) or an alias.</summary>
    private static long? HolderOf(ModelDocument model, string? stage, string? alias, long except)
    {
        if (alias is not null) return model.Aliases.TryGetValue(alias, out var v) ? v : null;
        var target = ModelStages.Parse(stage!);
        var holders = model.Stages.Where(s => s.Value == target && s.Key != except).Select(s => s.Key).ToList();
        return holders.Count == 0 ? null : holders.Max();
    }

    /// <summary>The other live versions in <paramref name="target"/>, moved to Archived (their documents, to be written).</summary>
    private async Task<List<VersionDocument>> ArchiveOthersAsync(ModelDocument model, long version, string target, long now, CancellationToken ct)
    {
        var others = model.Stages.Where(s => s.Value == target && s.Key != version).Select(s => s.Key).ToList();
        if (others.Count > MaxArchivedPerTransition)
            throw MlflowException.InvalidParameter(
                $"Cannot archive {others.Count} versions in one transition: Tracker archives at most {MaxArchivedPerTransition} at once. " +
                $"Move some of the versions in stage {target} to Archived first.");
        var archived = new List<VersionDocument>();
        foreach (var other in others)
        {
            var doc = await RequireVersionAsync(model, other, ct);
            doc.CurrentStage = ModelStages.Archived;
            doc.LastUpdatedTimestamp = now;
            model.Stages[other] = ModelStages.Archived;
            archived.Add(doc);
        }
        return archived;
    }
}
