using System.Globalization;
using Azure.Data.Tables;
using Tracker.Core.Search;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Registry;

/// <summary>
/// Searches serve from an in-memory snapshot of every model and version row, brought up to date on every search: the
/// change rows after the last one applied (one range query), then a point read of each row they name. A cold instance,
/// or one that fell far behind, scans the partition instead. Results are exactly as fresh as storage: a write
/// acknowledged on another instance is visible to the next search anywhere.
/// </summary>
public sealed partial class RegistryStore
{
    private const int RegisteredModelsMaxResults = 1000;
    private const int ModelVersionsMaxResults = 200000;
    /// <summary>Past this many changed rows, one scan of the partition is cheaper than a point read per row.</summary>
    private const int MaxPointReadsPerRefresh = 32;

    private readonly SemaphoreSlim _snapshotTurn = new(1, 1);
    private readonly RegistrySnapshot _snapshot = new();

    private sealed class RegistrySnapshot
    {
        /// <summary>The seq whose change (and every earlier one) the rows below include; -1 before the first scan.</summary>
        public long Applied = -1;
        public readonly Dictionary<string, ModelDocument> Models = new(StringComparer.Ordinal);
        public readonly Dictionary<string, SnapshotVersion> Versions = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// A version row in the snapshot, with the entity last built from it: a search of 10,000 versions would otherwise
    /// allocate 10,000 entities each time (most of its cost, in garbage collections). The entity is rebuilt only when
    /// the row or its model row changed, which replaces the documents it was built from.
    /// </summary>
    private sealed class SnapshotVersion(string modelId, VersionDocument doc)
    {
        private Built? _built;

        public string ModelId { get; } = modelId;

        public ModelVersion For(ModelDocument model)
        {
            // Searches run side by side: each may build, and the last one's entity stays; both are the same values.
            var built = _built;
            if (built is null || !ReferenceEquals(built.Model, model))
                _built = built = new Built(model, ToVersion(model, doc));
            return built.Version;
        }

        private sealed record Built(ModelDocument Model, ModelVersion Version);
    }

    public Task<Page<RegisteredModel>> SearchRegisteredModelsAsync(
        string? filter, int maxResults, IReadOnlyList<string> orderBy, string? pageToken, Func<string, bool>? visible = null,
        CancellationToken ct = default)
    {
        CheckMaxResults(maxResults, RegisteredModelsMaxResults);
        var query = RegisteredModelQuery.Parse(filter, orderBy);
        return WithinBudget(_requestTimeout, async ct =>
        {
            var (models, _) = await CurrentAsync(ct);
            var matches = models
                .Where(m => visible is null || visible(m.Name))
                .Select(ToModel)
                .Where(m => (!m.IsPrompt || query.IncludesPrompts) && query.Matches(m))
                .Order(query.Order)
                .ToList();
            return await PageAsync(matches, "registered-models/search", filter, orderBy, maxResults, pageToken, ct);
        }, ct);
    }

    public Task<Page<ModelVersion>> SearchModelVersionsAsync(
        string? filter, int maxResults, IReadOnlyList<string> orderBy, string? pageToken, Func<string, bool>? visible = null,
        CancellationToken ct = default)
    {
        CheckMaxResults(maxResults, ModelVersionsMaxResults);
        var query = ModelVersionQuery.Parse(filter, orderBy);
        return WithinBudget(_requestTimeout, async ct =>
        {
            var (models, versions) = await CurrentAsync(ct);
            var byId = models.Where(m => visible is null || visible(m.Name)).ToDictionary(m => m.Id, m => (Doc: m, Prompt: RegisteredModel.HasPromptTag(m.Tags)), StringComparer.Ordinal);
            var matches = versions
                .Where(v => byId.TryGetValue(v.ModelId, out var m) && (!m.Prompt || query.IncludesPrompts))
                .Select(v => v.For(byId[v.ModelId].Doc))
                .Where(query.Matches)
                .Order(query.Order)
                .ToList();
            return await PageAsync(matches, "model-versions/search", filter, orderBy, maxResults, pageToken, ct);
        }, ct);
    }

    private static void CheckMaxResults(int maxResults, int limit)
    {
        if (maxResults < 1)
            throw MlflowException.InvalidParameter($"Invalid value for max_results. It must be a positive integer, but got {maxResults}");
        if (maxResults > limit)
            throw MlflowException.InvalidParameter(
                $"Invalid value for request parameter max_results. It must be at most {limit}, but got value {maxResults}");
    }

    private async Task<Page<T>> PageAsync<T>(
        List<T> matches, string operation, string? filter, IReadOnlyList<string> orderBy, int maxResults, string? pageToken, CancellationToken ct)
    {
        var query = PageQuery.Of(operation, [filter], orderBy);
        var offset = (await ReadPageTokenAsync(_keys, pageToken, query, ct)).Offset;
        var page = matches.Skip(offset).Take(maxResults).ToList();
        return new Page<T>(page, await NextPageTokenAsync(_keys, offset, maxResults, matches.Count, query, ct));
    }

    /// <summary>Every live model and version, as of now (see the class comment).</summary>
    private async Task<(List<ModelDocument> Models, List<SnapshotVersion> Versions)> CurrentAsync(CancellationToken ct)
    {
        await EnsureInitializedAsync(ct);
        await _snapshotTurn.WaitAsync(ct);
        try
        {
            if (_snapshot.Applied < 0 || !await ApplyChangesAsync(ct)) await ScanAsync(ct);
            var models = _snapshot.Models.Values.ToList();
            var live = models.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
            // A version row whose model is gone (deleted, rows not yet swept) is invisible.
            return (models, _snapshot.Versions.Values.Where(v => live.Contains(v.ModelId)).ToList());
        }
        finally
        {
            _snapshotTurn.Release();
        }
    }

    /// <summary>Reads seq first, then every model and version row: whatever commits meanwhile has a later change row,
    /// which the next refresh reads again (rows are re-read, so applying a change twice is harmless).</summary>
    private async Task ScanAsync(CancellationToken ct)
    {
        var seq = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, SeqRow, cancellationToken: ct));
        var applied = seq.HasValue ? seq.Value!.GetInt64("N") ?? 0 : 0;
        _snapshot.Models.Clear();
        _snapshot.Versions.Clear();
        // m: < seq < v:, and the change rows (c:) sort before them all.
        await foreach (var row in _table.QueryAsync<TableEntity>(Filter($"PartitionKey eq {Partition} and RowKey ge {ModelRowPrefix}"), cancellationToken: ct)
                           .WithTransientErrors())
            Apply(row.RowKey, row);
        _snapshot.Applied = applied;
    }

    /// <summary>Applies the change rows after the last one applied; false when there are too many rows to read one by one.</summary>
    private async Task<bool> ApplyChangesAsync(CancellationToken ct)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var last = _snapshot.Applied;
        await foreach (var row in _table.QueryAsync<TableEntity>(
                           Filter($"PartitionKey eq {Partition} and RowKey gt {ChangeRow(_snapshot.Applied)} and RowKey lt {"c;"}"), cancellationToken: ct)
                           .WithTransientErrors())
        {
            var seq = long.Parse(row.RowKey.AsSpan(ChangeRowPrefix.Length), CultureInfo.InvariantCulture);
            // Seq numbers have no gaps, so a jump means the rows in between were pruned (PruneChangesAsync) before this
            // instance read them: what they named is unknown, and only a scan is exact.
            if (seq != last + 1) return false;
            last = seq;
            foreach (var key in (row.GetString("Keys") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)) keys.Add(key);
            if (keys.Count > MaxPointReadsPerRefresh) return false;
        }
        var rows = await Task.WhenAll(keys.Select(async key => (key, row: await StorageErrors.Call(
            () => _table.GetEntityIfExistsAsync<TableEntity>(Partition, key, cancellationToken: ct)))));
        foreach (var (key, row) in rows) Apply(key, row.HasValue ? row.Value : null);
        _snapshot.Applied = last;
        return true;
    }

    /// <summary>
    /// Deletes change rows older than <paramref name="olderThan"/>, at most <paramref name="limit"/> of them, never the
    /// newest (for the cleanup timer). An instance whose snapshot is older than what was pruned notices the jump in seq
    /// numbers and rescans, so pruning never hides a change. Returns how many rows were deleted.
    /// </summary>
    public Task<int> PruneChangesAsync(TimeSpan olderThan, int limit, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            var cutoff = DateTimeOffset.UtcNow - olderThan;
            var due = new List<string>();
            string? newest = null;
            await foreach (var row in _table.QueryAsync<TableEntity>(
                               Filter($"PartitionKey eq {Partition} and RowKey ge {ChangeRowPrefix} and RowKey lt {"c;"}"),
                               select: ["RowKey", "Timestamp"], cancellationToken: ct).WithTransientErrors())
            {
                newest = row.RowKey;
                if (row.Timestamp is { } written && written < cutoff && due.Count < limit + 1) due.Add(row.RowKey);
                else break; // rows are in seq order, so the rest are newer
            }
            due.Remove(newest ?? "");
            if (due.Count > limit) due.RemoveAt(due.Count - 1);
            // One partition: deletes go in entity-group transactions of up to 100.
            foreach (var chunk in due.Chunk(100))
            {
                try
                {
                    await _table.SubmitTransactionAsync(
                        chunk.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(Partition, key), Azure.ETag.All)), ct);
                }
                catch (TableTransactionFailedException)
                {
                    // A concurrent prune deleted one of them first: delete the rest one by one (a 404 is done already).
                    foreach (var key in chunk) await StorageErrors.Call(() => _table.DeleteEntityAsync(Partition, key, Azure.ETag.All, ct));
                }
            }
            return due.Count;
        }, ct);

    /// <summary>The row's current state into the snapshot; null: the row is gone.</summary>
    private void Apply(string rowKey, TableEntity? row)
    {
        if (rowKey.StartsWith(ModelRowPrefix, StringComparison.Ordinal))
        {
            if (row is null) _snapshot.Models.Remove(rowKey);
            else _snapshot.Models[rowKey] = ReadModel(row);
        }
        else if (rowKey.StartsWith(VersionRowPrefix, StringComparison.Ordinal))
        {
            if (row is null) _snapshot.Versions.Remove(rowKey);
            else _snapshot.Versions[rowKey] = new SnapshotVersion(rowKey.Split(':')[1], ReadVersion(row));
        }
    }
}
