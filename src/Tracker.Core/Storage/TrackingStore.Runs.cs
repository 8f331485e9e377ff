using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;
using RunWrite = Tracker.Core.Storage.RunWriteQueue<System.Func<Tracker.Core.Storage.RunDocument, Tracker.Core.Storage.TrackingStore.RunChange>, Tracker.Core.Storage.RunDocument>.Write;

namespace Tracker.Core.Storage;

public sealed partial class TrackingStore
{
    private const string RunRowPrefix = "r:";

    private static string RunRow(string runId) => RunRowPrefix + runId;

    private static MlflowException RunNotFound(string runId) => MlflowException.NotFound($"Run with id={runId} not found");

    /// <param name="spill">The spill generation holding the document, or "" to hold it in the row itself.</param>
    /// <param name="changedOnly">For a Merge: the point-buffer parts this change touched, not all of them.</param>
    private static TableEntity RunEntity(RunDocument doc, byte[] json, string spill, bool changedOnly = false)
    {
        var entity = new TableEntity(doc.ExperimentId, RunRow(doc.RunId)) { ["Lifecycle"] = doc.Lifecycle, [SpillProperty] = spill };
        if (spill.Length == 0) DocumentColumns.Write(entity, json);
        else entity[DocumentColumns.CountProperty] = 0;
        doc.Buffer.WriteTo(entity, changedOnly);
        return entity;
    }

    /// <summary>Non-ASCII text as UTF-8, not <c>\uXXXX</c> escapes (a third of the bytes): the document is never
    /// embedded in HTML, and its size decides whether a run fits its row.</summary>
    private static readonly JsonWriterOptions StoredJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Serialize(RunDocument doc)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, StoredJson))
            JsonSerializer.Serialize(writer, doc, StorageJson.Default.RunDocument);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A run row whose document is in the row itself (<see cref="SpillOf"/> is empty).</summary>
    private static RunDocument ReadRun(TableEntity entity) => ReadRun(DocumentColumns.Read(entity), PointBuffer.From(entity), "");

    private static RunDocument ReadRun(byte[] json, PointBuffer buffer, string spill)
    {
        var doc = Deserialize(json, StorageJson.Default.RunDocument);
        doc.Buffer = buffer;
        doc.Spill = spill;
        return doc;
    }

    public Task<Run> CreateRunAsync(
        string? experimentId, string? userId, string? runName, long startTime, IReadOnlyList<KeyValue> tags, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            foreach (var tag in tags) Validation.RunTag(tag.Key, tag.Value);
            var requested = string.IsNullOrEmpty(experimentId) ? DefaultExperimentId : experimentId;
            var (experiment, _) = await ReadExperimentAsync(requested, ct) ?? throw ExperimentNotFound(requested);
            experimentId = experiment.ExperimentId;
            RequireActive(experiment);

            var nameTag = tags.LastOrDefault(t => t.Key == MlflowTags.RunName)?.Value;
            if (!string.IsNullOrEmpty(runName) && !string.IsNullOrEmpty(nameTag) && nameTag != runName)
                throw MlflowException.InvalidParameter(
                    $"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='{Echo.Truncate(runName)}', mlflow.runName='{Echo.Truncate(nameTag)}').");
            var name = !string.IsNullOrEmpty(runName) ? runName : !string.IsNullOrEmpty(nameTag) ? nameTag : RunNames.New();

            while (true)
            {
                var doc = new RunDocument
                {
                    RunId = RunIds.New(experimentId), ExperimentId = experimentId, StartTime = startTime,
                    UserId = !string.IsNullOrEmpty(userId) ? userId : tags.LastOrDefault(t => t.Key == MlflowTags.User)?.Value ?? "",
                    HistoryLayout = RunDocument.CurrentHistoryLayout,
                };
                foreach (var tag in tags) doc.SetTag(tag.Key, tag.Value);
                doc.SetTag(MlflowTags.RunName, name);
                var json = Serialize(doc);
                var spill = await SpillAsync(doc, json, ct);
                try
                {
                    var etag = await CommitRunRowAsync(new(TableTransactionActionType.Add, RunEntity(doc, json, spill)), [], ct);
                    doc.Spill = spill;
                    CacheRunRow(doc.RunId, json, doc.Buffer, spill, etag);
                    return doc.ToRun();
                }
                catch (RequestFailedException e) when (e.Status == StorageErrors.Conflict)
                {
                    // 96 random bits collided: draw another id.
                    await DropSpillAsync(doc.ExperimentId, doc.RunId, spill, ct);
                }
            }
        }, ct);

    public Task<Run> GetRunAsync(string runId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => ((await ReadRunAsync(runId, useCache: false, ct))?.Doc ?? throw RunNotFound(runId)).ToRun(), ct);

    private async Task<(RunDocument Doc, ETag ETag)?> ReadRunAsync(string runId, bool useCache, CancellationToken ct) =>
        await ReadRunRowAsync(runId, useCache, ct) is { } row ? (row.Document(), row.ETag) : null;

    /// <summary>A small run is one point read; a spilled one adds one range query for its spill rows.</summary>
    private async Task<StoredRunRow?> ReadRunRowAsync(string runId, bool useCache, CancellationToken ct)
    {
        if (useCache && _runRowCache.TryGetValue(runId, out StoredRunRow? cached) && cached is not null) return cached;
        if (RunIds.ExperimentOf(runId) is not { } experimentId) return null;
        return await OptimisticAsync<StoredRunRow?>($"run {runId}", MaxConflictRetries, async _ =>
        {
            var row = await StorageErrors.Call(() => _runs.GetEntityIfExistsAsync<TableEntity>(experimentId, RunRow(runId), cancellationToken: ct));
            if (!row.HasValue || IsTombstone(row.Value!)) return null;
            var spill = SpillOf(row.Value!);
            var json = spill.Length == 0 ? DocumentColumns.Read(row.Value!) : await ReadSpillAsync(experimentId, runId, spill, ct)
                // A writer superseded the generation between the two reads: the run row now names another.
                ?? throw StorageErrors.LostRace($"run {runId}");
            var stored = new StoredRunRow(json, PointBuffer.From(row.Value!), spill, row.Value!.ETag);
            CacheRunRow(runId, json, stored.Buffer, spill, stored.ETag);
            return stored;
        }, ct);
    }

    /// <summary>A run row as read or last written: never changed, so a write builds from it as many fresh documents as
    /// it needs (<see cref="Document"/>), and the cache can hand it out.</summary>
    private sealed record StoredRunRow(byte[] Json, PointBuffer Buffer, string Spill, ETag ETag)
    {
        public RunDocument Document() => ReadRun(Json, Buffer.Copy(), Spill);
    }

    private void CacheRunRow(string runId, byte[] json, PointBuffer buffer, string spill, ETag? etag)
    {
        if (etag is { } tag)
            _runRowCache.Set(runId, new StoredRunRow(json, buffer.Copy(), spill, tag), new MemoryCacheEntryOptions
            {
                Size = json.Length + buffer.Bytes + 128,
                SlidingExpiration = TimeSpan.FromMinutes(10),
            });
        else
            _runRowCache.Remove(runId);
    }

    /// <summary>What a change to a run row needs written besides the row itself.</summary>
    /// <param name="Changed">False when there is nothing to write.</param>
    /// <param name="HistoryRows">Metric history rows of the run's partition (TrackingStore.History), committed in the
    /// run row's transaction.</param>
    internal readonly record struct RunChange(bool Changed, IReadOnlyList<TableEntity>? HistoryRows = null)
    {
        public static implicit operator RunChange(bool changed) => new(changed);
    }

    /// <summary>
    /// Read-modify-write of one run row under its ETag, as one entity-group transaction with its change row and the
    /// change's history rows (<see cref="CommitRunRowAsync"/>). Writers to one run within this instance queue, and each
    /// turn commits all that queued meanwhile (<see cref="RunWriteQueue{TChange,TResult}"/>, <see cref="CommitRunWritesAsync"/>).
    /// </summary>
    private Task<RunDocument> MutateRunAsync(string runId, Func<RunDocument, RunChange> apply, CancellationToken ct) =>
        _runWrites.RunAsync(runId, apply, (writes, token) => CommitRunWritesAsync(runId, writes, token), ct);

    /// <summary>
    /// One turn of a run's writes: applies them in arrival order to one document and commits them as one entity-group
    /// transaction (one run-row write, one change row, all their history rows), as many as fit Azure's limits; the rest
    /// wait for the next turn. Each write gets its own outcome: one whose rules fail (a changed param, a run not active)
    /// fails alone and none of its changes are written, since the others are applied again without it to a clean copy
    /// (a failing write may have changed the document before it failed); a transaction that fails fails every write in
    /// it. The first attempt starts from the cached row; a rule violation seen only in the cached copy is checked again
    /// against storage, and a 412 (another instance wrote the run) sends the next attempt to storage, all the group's
    /// writes applied again.
    /// </summary>
    private async Task CommitRunWritesAsync(string runId, IReadOnlyList<RunWrite> writes, CancellationToken ct)
    {
        var group = writes.ToList(); // the writes the current attempt commits
        try
        {
            await OptimisticAsync($"run {runId}", MaxConflictRetries, async attempt =>
            {
                var stored = await ReadRunRowAsync(runId, useCache: attempt == 0, ct);
                var fromStorage = attempt > 0;
                var limit = int.MaxValue;
                while (true)
                {
                    group = [.. writes.Where(w => !w.IsSettled).Take(limit)];
                    if (stored is null)
                    {
                        foreach (var w in group) w.Fail(RunNotFound(runId));
                        return;
                    }
                    var doc = stored.Document();
                    var (applied, rows, changed, full) = (new List<RunWrite>(), new List<TableEntity>(), false, false);
                    (RunWrite Write, MlflowException Error)? failed = null;
                    foreach (var w in group)
                    {
                        RunChange change;
                        try
                        {
                            change = w.Change(doc);
                        }
                        catch (MlflowException e)
                        {
                            failed = (w, e);
                            break;
                        }
                        if (applied.Count > 0 && !FitsOneTransaction(doc, rows, change.HistoryRows ?? []))
                        {
                            full = true;
                            break;
                        }
                        applied.Add(w);
                        rows.AddRange(change.HistoryRows ?? []);
                        changed |= change.Changed;
                    }
                    if (failed is { } failure)
                    {
                        if (fromStorage) failure.Write.Fail(failure.Error);
                        else (stored, fromStorage) = (await ReadRunRowAsync(runId, useCache: false, ct), true);
                        continue;
                    }
                    if (full)
                    {
                        // The write that did not fit changed the document: the ones before it, again, without it.
                        limit = applied.Count;
                        continue;
                    }
                    group = applied;
                    if (changed) await CommitRunDocumentAsync(doc, rows, stored.ETag, ct);
                    foreach (var w in group) w.Succeed(doc);
                    return;
                }
            }, ct);
        }
        catch (Exception e)
        {
            // Transient, an unknown outcome, or too many lost races: every write of the transaction shares the answer.
            foreach (var w in group) w.Fail(e);
        }
    }

    /// <summary>Whether a group's document and history rows, with a further write's <paramref name="more"/> rows, are
    /// still one transaction within Azure's limits: a turn's later writes must all fit, only its first may send history
    /// rows ahead of the transaction (<see cref="FitTransaction"/>).</summary>
    private static bool FitsOneTransaction(RunDocument doc, List<TableEntity> rows, IReadOnlyList<TableEntity> more)
    {
        var json = Serialize(doc);
        if (json.Length > MaxRunDocumentBytes) return false;
        var runRow = RunEntity(doc, json, json.Length > DocumentColumns.MaxDocumentBytes ? "spilled" : "");
        return FitTransaction(runRow, [.. rows, .. more]).First.Count == 0;
    }

    /// <summary>Writes a changed run document (in its row or spilled) under the ETag it was read with, with its change
    /// row and <paramref name="historyRows"/>; a 412 throws for the caller's next attempt.</summary>
    private async Task CommitRunDocumentAsync(RunDocument doc, List<TableEntity> historyRows, ETag etag, CancellationToken ct)
    {
        var json = Serialize(doc);
        var spill = await SpillAsync(doc, json, ct);
        // A Merge sends only what changed; an emptied buffer needs its stored parts replaced away, and a move
        // between row and spill rows the columns the document no longer uses.
        var mode = doc.Buffer.Cleared || (spill.Length == 0) != (doc.Spill.Length == 0) ? TableUpdateMode.Replace : TableUpdateMode.Merge;
        try
        {
            var entity = RunEntity(doc, json, spill, changedOnly: mode == TableUpdateMode.Merge);
            // History rows that would take the transaction past Azure's limits go first, on their own: see
            // FitTransaction for why that does not happen with MLflow's batch limits.
            var (inTransaction, first) = FitTransaction(entity, historyRows);
            if (first.Count > 0) await WriteHistoryRowsAsync(first, ct);
            var committed = await CommitRunRowAsync(
                new(mode == TableUpdateMode.Merge ? TableTransactionActionType.UpdateMerge : TableTransactionActionType.UpdateReplace, entity, etag),
                inTransaction.Select(row => new TableTransactionAction(TableTransactionActionType.Add, row)).ToList(), ct);
            CacheRunRow(doc.RunId, json, doc.Buffer, spill, committed);
            if (doc.Spill != spill) await DropSpillAsync(doc.ExperimentId, doc.RunId, doc.Spill, ct);
            doc.Spill = spill;
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.PreconditionFailed)
        {
            await DropSpillAsync(doc.ExperimentId, doc.RunId, spill, ct);
            _runRowCache.Remove(doc.RunId);
            throw; // a lost race: OptimisticAsync tries again
        }
    }

    private static void RequireActive(RunDocument doc)
    {
        if (doc.Lifecycle != LifecycleStage.Active)
            throw MlflowException.InvalidParameter(
                $"The run {doc.RunId} must be in the 'active' state. Current state is {doc.Lifecycle}.");
    }

    public Task<RunInfo> UpdateRunAsync(string runId, string? status, long? endTime, string? runName, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            var doc = await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                if (status is not null) doc.Status = status;
                if (endTime is not null) doc.EndTime = endTime;
                if (!string.IsNullOrEmpty(runName)) doc.SetTag(MlflowTags.RunName, runName);
                return true;
            }, ct);
            return doc.ToInfo();
        }, ct);

    public Task DeleteRunAsync(string runId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await MutateRunAsync(runId, doc =>
            {
                if (doc.Lifecycle == LifecycleStage.Deleted) return false;
                doc.Lifecycle = LifecycleStage.Deleted;
                doc.DeletedTime = Now();
                return true;
            }, ct), ct);

    public Task RestoreRunAsync(string runId, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await MutateRunAsync(runId, doc =>
            {
                if (doc.Lifecycle == LifecycleStage.Active) return false;
                doc.Lifecycle = LifecycleStage.Active;
                doc.DeletedTime = null;
                return true;
            }, ct), ct);

    public Task DeleteTagAsync(string runId, string key, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                if (!doc.RemoveTag(key))
                    throw MlflowException.NotFound($"No tag with name: {key} in run with id {runId}");
                return true;
            }, ct), ct);

    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, IReadOnlyList<string> modelIds, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            Validation.RunId(runId);
            foreach (var input in datasets) Validation.DatasetInput(input);
            await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                var changed = false;
                foreach (var input in datasets)
                {
                    if (doc.Inputs.Exists(i => i.Dataset.Name == input.Dataset.Name && i.Dataset.Digest == input.Dataset.Digest)) continue;
                    doc.Inputs.Add(input);
                    changed = true;
                }
                foreach (var id in modelIds.Where(id => !doc.ModelInputs.Contains(id)))
                {
                    doc.ModelInputs.Add(id);
                    changed = true;
                }
                return changed;
            }, ct);
        }, ct);

    public Task LogOutputsAsync(string runId, IReadOnlyList<ModelOutput> models, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            Validation.RunId(runId);
            await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                var added = models.Where(m => !doc.ModelOutputs.Contains(m)).ToList();
                doc.ModelOutputs.AddRange(added);
                return added.Count > 0;
            }, ct);
        }, ct);

    /// <summary>MLflow 2.x <c>runs/log-model</c>: appends the model's dict to the JSON list in tag mlflow.log-model.history.</summary>
    public Task LogModelAsync(string runId, JsonObject model, CancellationToken ct = default) =>
        WithinBudget(_requestTimeout, async ct => await MutateRunAsync(runId, doc =>
            {
                RequireActive(doc);
                var existing = doc.Tags.Find(t => t.Key == MlflowTags.LogModelHistory)?.Value;
                var history = existing is null ? new JsonArray() : JsonNode.Parse(existing) as JsonArray ?? [];
                history.Add(model.DeepClone());
                doc.SetTag(MlflowTags.LogModelHistory, history.ToJsonString());
                return true;
            }, ct), ct);

    /// <summary>Marks every run of an experiment (experiment delete/restore cascade): each run row with its change row,
    /// as many runs per transaction as fit.</summary>
    private Task SetRunsLifecycleAsync(string experimentId, string lifecycle, long? deletedTime, CancellationToken ct) =>
        // A writer that touches a run meanwhile fails its transaction (412): the next attempt re-reads the ones still to do.
        OptimisticAsync($"the runs of experiment {experimentId}", MaxConflictRetries, async _ =>
        {
            var pending = new List<TableTransactionAction>();
            var large = new List<string>();
            var filter = RowsWithPrefix(experimentId, RunRowPrefix, $"Lifecycle ne {lifecycle} and Lifecycle ne {Purged}");
            await foreach (var row in _runs.QueryAsync<TableEntity>(filter, cancellationToken: ct).WithTransientErrors())
            {
                var runId = row.RowKey[RunRowPrefix.Length..];
                _runRowCache.Remove(runId);
                if (SpillOf(row).Length > 0)
                {
                    large.Add(runId);
                    continue;
                }
                var doc = ReadRun(row);
                doc.Lifecycle = lifecycle;
                doc.DeletedTime = deletedTime;
                var json = Serialize(doc);
                if (json.Length > DocumentColumns.MaxDocumentBytes) large.Add(runId);
                else pending.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, RunEntity(doc, json, ""), row.ETag));
            }
            foreach (var batch in TransactionsOfRunRows(pending))
                await CommitRunRowsAsync(batch, [], ct);
            // Spilled runs are rare: each is its own ETag-guarded write of a new generation.
            foreach (var runId in large)
                await MutateRunAsync(runId, doc =>
                {
                    if (doc.Lifecycle == lifecycle) return false;
                    doc.Lifecycle = lifecycle;
                    doc.DeletedTime = deletedTime;
                    return true;
                }, ct);
        }, ct);

    /// <summary>Run-row writes grouped into transactions within Azure's limits: a change row each (so at most 50 runs),
    /// and the rows' weight (a run row may be near 1 MiB).</summary>
    internal static IEnumerable<List<TableTransactionAction>> TransactionsOfRunRows(IEnumerable<TableTransactionAction> runRows)
    {
        var (batch, bytes) = (new List<TableTransactionAction>(), 0);
        var changeRowBytes = EstimatedBytes(new TableEntity());
        foreach (var row in runRows)
        {
            var weight = EstimatedBytes(row.Entity) + changeRowBytes;
            if (batch.Count > 0 && (2 * (batch.Count + 1) > MaxTransactionActions || bytes + weight > MaxTransactionEntityBytes))
            {
                yield return batch;
                (batch, bytes) = ([], 0);
            }
            batch.Add(row);
            bytes += weight;
        }
        if (batch.Count > 0) yield return batch;
    }
}
