using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Registry;

/// <summary>What <c>model-versions/create</c> stores, once its source has been validated and resolved
/// (<see cref="StorageLocation"/> is what get-download-uri answers).</summary>
public sealed record NewModelVersion(
    string Name,
    string Source,
    string StorageLocation,
    string? RunId,
    IReadOnlyList<KeyValue> Tags,
    string? RunLink,
    string? Description,
    string? ModelId,
    string? UserId);

/// <summary>
/// MLflow's model registry store over Azure Table Storage (the counterpart of
/// mlflow/store/model_registry/sqlalchemy_store.py), kept apart from the tracking store as MLflow keeps them.
/// Names are canonical (<see cref="RegistryNames"/>): a create or rename with a name that could display like another
/// is refused; a lookup by such a name finds nothing. Versions are numbers; the wire's string form is parsed by the
/// endpoint. Every "not found" is <see cref="MlflowException"/> with MLflow's message.
///
/// Layout: table <c>{prefix}registry</c>, one partition (registry write rates are low, and one partition lets every
/// write be one entity-group transaction that also appends to a change feed):
/// <list type="bullet">
/// <item><c>m:{name}</c> the model row: a document with the model's immutable id, tags, aliases, the next version
/// number, a stage index of its live versions and the full documents of its latest version per stage, so a get
/// (latest versions, aliases, tags) is one point read.</item>
/// <item><c>v:{modelId}:{version D10}</c> a version row, keyed by the model's id and not its name, so a rename is one
/// transaction; a version row whose model id no live model carries is invisible.</item>
/// <item><c>seq</c> and <c>c:{seq D19}</c>: every write bumps seq under its ETag and adds a change row naming the rows
/// it changed, in the same transaction, so change rows have no gaps and a search brings its in-memory snapshot up to
/// date with one range query (see RegistryStore.Search).</item>
/// </list>
/// Every write reads the model row and commits under its ETag (and seq's): writers in one instance take turns, writers
/// in different instances retry on 412, so version numbers have no gaps and no duplicates across instances.
/// </summary>
public sealed partial class RegistryStore
{
    private const string Partition = "r";
    private const string ModelRowPrefix = "m:";
    private const string VersionRowPrefix = "v:";
    private const string SeqRow = "seq";
    private const string ChangeRowPrefix = "c:";
    private const int MaxConflictRetries = 50;
    /// <summary>An entity-group transaction holds at most 100 operations; seq and the change row take two, the model
    /// row and the transitioned version two more.</summary>
    internal const int MaxArchivedPerTransition = 96;

    private readonly TableClient _table;
    private readonly ServerKeys _keys;
    private readonly ILogger<RegistryStore> _logger;
    private readonly TimeSpan _requestTimeout;
    private readonly OnceUntilSuccess _initialized;
    // Writers in this instance take turns: they would only make each other retry on the model row's and seq's ETags.
    private readonly SemaphoreSlim _writeTurn = new(1, 1);

    public RegistryStore(TableServiceClient tables, IOptions<StorageOptions> options, ServerKeys keys, ILogger<RegistryStore> logger)
    {
        _table = tables.GetTableClient(options.Value.TablePrefix + "registry");
        _keys = keys;
        _logger = logger;
        _requestTimeout = options.Value.RequestTimeout;
        _initialized = CreateTablesOnce([_table]);
    }

    private Task EnsureInitializedAsync(CancellationToken ct) => _initialized.RunAsync().WaitAsync(ct);

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string ModelRow(string canonicalName) => ModelRowPrefix + TableKeys.Escape(canonicalName);

    private static string VersionRowPrefixOf(string modelId) => $"{VersionRowPrefix}{modelId}:";

    private static string VersionRow(string modelId, long version) =>
        VersionRowPrefixOf(modelId) + version.ToString("D10", CultureInfo.InvariantCulture);

    private static string ChangeRow(long seq) => ChangeRowPrefix + seq.ToString("D19", CultureInfo.InvariantCulture);

    // ---- errors, with MLflow's messages ----

    private static MlflowException ModelNotFound(string name) =>
        MlflowException.NotFound($"Registered Model with name={Echo.Truncate(name)} not found");

    private static MlflowException ModelExists(string name) =>
        new(ErrorCode.ResourceAlreadyExists, $"Registered Model (name={Echo.Truncate(name)}) already exists.");

    private static MlflowException VersionNotFound(string name, long version) =>
        MlflowException.NotFound($"Model Version (name={Echo.Truncate(name)}, version={version}) not found");

    // ---- documents ----

    private static TableEntity ModelEntity(ModelDocument doc)
    {
        var entity = new TableEntity(Partition, ModelRow(doc.Name));
        DocumentColumns.Write(entity, JsonSerializer.SerializeToUtf8Bytes(doc, RegistryJson.Default.ModelDocument));
        return entity;
    }

    private static TableEntity VersionEntity(string modelId, VersionDocument doc)
    {
        var entity = new TableEntity(Partition, VersionRow(modelId, doc.Version));
        DocumentColumns.Write(entity, JsonSerializer.SerializeToUtf8Bytes(doc, RegistryJson.Default.VersionDocument));
        return entity;
    }

    private static ModelDocument ReadModel(TableEntity e) =>
        JsonSerializer.Deserialize(DocumentColumns.Read(e), RegistryJson.Default.ModelDocument) ?? throw new InvalidDataException("Stored model is null.");

    private static VersionDocument ReadVersion(TableEntity e) =>
        JsonSerializer.Deserialize(DocumentColumns.Read(e), RegistryJson.Default.VersionDocument) ?? throw new InvalidDataException("Stored version is null.");

    private static RegisteredModel ToModel(ModelDocument m) => new(
        m.Name, m.CreationTimestamp, m.LastUpdatedTimestamp, m.Description, m.Tags,
        m.Aliases.Select(a => new RegisteredModelAlias(a.Key, a.Value.ToString(CultureInfo.InvariantCulture))).ToList(),
        m.Latest.Select(v => ToVersion(m, v)).ToList(), m.DeploymentJobId);

    private static ModelVersion ToVersion(ModelDocument m, VersionDocument v) => new(
        m.Name, v.Version, v.CreationTimestamp, Math.Max(v.LastUpdatedTimestamp, m.RenamedAt), v.UserId, v.CurrentStage, v.Description, v.Source, v.RunId,
        ModelVersionStatus.Ready, v.RunLink, v.Tags, AliasesOf(m, v.Version), v.ModelId,
        v.StorageLocation);

    private static IReadOnlyList<string> AliasesOf(ModelDocument m, long version) =>
        m.Aliases.ContainsValue(version) ? m.Aliases.Where(a => a.Value == version).Select(a => a.Key).ToList() : [];

    /// <summary>Last value of a key wins, as MLflow's upsert-per-tag does.</summary>
    private static List<KeyValue> Dedupe(IReadOnlyList<KeyValue> tags) =>
        tags.GroupBy(t => t.Key, StringComparer.Ordinal).Select(g => g.Last()).ToList();

    private static void SetTag(List<KeyValue> tags, string key, string value)
    {
        var i = tags.FindIndex(t => t.Key == key);
        if (i >= 0) tags[i] = new KeyValue(key, value);
        else tags.Add(new KeyValue(key, value));
    }

    // ---- reads ----

    private async Task<(ModelDocument Doc, ETag ETag)?> ReadModelAsync(string? name, CancellationToken ct)
    {
        if (RegistryNames.TryCanonical(name) is not { } canonical) return null;
        await EnsureInitializedAsync(ct);
        var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, ModelRow(canonical), cancellationToken: ct));
        return row.HasValue ? (ReadModel(row.Value!), row.Value!.ETag) : null;
    }

    private async Task<(ModelDocument Doc, ETag ETag)> RequireModelAsync(string name, CancellationToken ct) =>
        await ReadModelAsync(name, ct) ?? throw ModelNotFound(name);

    /// <summary>A live version's document: from the model row when it is a latest version, else its own row.</summary>
    private async Task<VersionDocument> RequireVersionAsync(ModelDocument model, long version, CancellationToken ct)
    {
        if (!model.Stages.ContainsKey(version)) throw VersionNotFound(model.Name, version);
        if (model.Latest.FirstOrDefault(v => v.Version == version) is { } latest) return latest;
        var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, VersionRow(model.Id, version), cancellationToken: ct));
        return row.HasValue ? ReadVersion(row.Value!) : throw VersionNotFound(model.Name, version);
    }

    /// <summary>Per stage, the highest-numbered live version, from the documents this write changed, else the model
    /// row's latest, else the version's own row (a version leaving a stage can make an older one the latest).</summary>
    private async Task RecomputeLatestAsync(ModelDocument model, IReadOnlyCollection<VersionDocument> changed, CancellationToken ct)
    {
        var latest = new List<VersionDocument>();
        // MLflow's order (SqlRegisteredModel.to_mlflow_entity fills a dict walking versions upwards): each stage where
        // its lowest live version is, as the recorded traffic shows (Archived v1 before Production v2).
        foreach (var stage in model.Stages.Values.Distinct().ToList())
        {
            var highest = model.Stages.Where(s => s.Value == stage).Select(s => s.Key).DefaultIfEmpty(0).Max();
            if (highest == 0) continue;
            latest.Add(changed.FirstOrDefault(v => v.Version == highest)
                       ?? model.Latest.FirstOrDefault(v => v.Version == highest)
                       ?? await RequireVersionRowAsync(model, highest, ct));
        }
        model.Latest = latest;
    }

    private async Task<VersionDocument> RequireVersionRowAsync(ModelDocument model, long version, CancellationToken ct)
    {
        var row = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, VersionRow(model.Id, version), cancellationToken: ct));
        // The model row names the version live, so its row exists unless a writer changed both since: the model row's
        // ETag then fails the commit, and the retry reads again.
        return row.HasValue ? ReadVersion(row.Value!) : throw new RequestFailedException(StorageErrors.PreconditionFailed, "Version row changed meanwhile.");
    }

    // ---- writes ----

    /// <summary>
    /// One registry write: reads the model row, lets <paramref name="change"/> build the row operations (null: nothing
    /// to write), and commits them with the seq bump and change row in one transaction, retrying lost races. Writers in
    /// this instance take turns; the whole call is bounded by the request budget.
    /// </summary>
    private Task<T> WriteAsync<T>(
        string what, Func<CancellationToken, Task<(List<TableTransactionAction>? Actions, T Result)>> change, CancellationToken ct,
        Func<TableTransactionFailedException, Exception?>? explain = null) =>
        WithinBudget(_requestTimeout, async ct =>
        {
            await EnsureInitializedAsync(ct);
            await _writeTurn.WaitAsync(ct);
            try
            {
                return await OptimisticAsync(what, MaxConflictRetries, async _ =>
                {
                    var (actions, result) = await change(ct);
                    if (actions is null) return result;
                    try
                    {
                        await CommitAsync(actions, ct);
                    }
                    catch (TableTransactionFailedException e) when (explain?.Invoke(e) is { } domain)
                    {
                        throw domain;
                    }
                    return result;
                }, ct, conflictIsLostRace: true);
            }
            finally
            {
                _writeTurn.Release();
            }
        }, ct);

    /// <summary>Commits <paramref name="actions"/> (the model and version rows first, so their indexes are the
    /// caller's) with seq + 1 and the change row listing the rows they touch.</summary>
    private async Task CommitAsync(List<TableTransactionAction> actions, CancellationToken ct)
    {
        var seq = await StorageErrors.Call(() => _table.GetEntityIfExistsAsync<TableEntity>(Partition, SeqRow, cancellationToken: ct));
        var n = seq.HasValue ? seq.Value!.GetInt64("N") ?? 0 : 0;
        var next = new TableEntity(Partition, SeqRow) { ["N"] = n + 1 };
        actions.Add(seq.HasValue
            ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, next, seq.Value!.ETag)
            : new TableTransactionAction(TableTransactionActionType.Add, next));
        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(Partition, ChangeRow(n + 1))
        {
            ["Keys"] = string.Join('\n', actions.Select(a => a.Entity.RowKey).Where(k => k.StartsWith(ModelRowPrefix) || k.StartsWith(VersionRowPrefix))),
        }));
        await StorageErrors.Call(() => _table.SubmitTransactionAsync(actions, ct));
    }

    private static TableTransactionAction ReplaceModel(ModelDocument doc, ETag etag) =>
        new(TableTransactionActionType.UpdateReplace, ModelEntity(doc), etag);

    // The model row's ETag guards every version write: a version row changes only with its model row.
    private static TableTransactionAction ReplaceVersion(string modelId, VersionDocument doc) =>
        new(TableTransactionActionType.UpdateReplace, VersionEntity(modelId, doc), ETag.All);

    private static string NewModelId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

/// <summary>The model row's document (see <see cref="RegistryStore"/>).</summary>
internal sealed class ModelDocument
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public long CreationTimestamp { get; set; }
    public long LastUpdatedTimestamp { get; set; }
    public string Description { get; set; } = "";
    public string? DeploymentJobId { get; set; }
    public List<KeyValue> Tags { get; set; } = [];
    public Dictionary<string, long> Aliases { get; set; } = new(StringComparer.Ordinal);
    /// <summary>1 + the highest version number ever issued (deleted ones included): numbers are never reused.</summary>
    public long NextVersion { get; set; } = 1;
    /// <summary>Version → stage, for every live version.</summary>
    public SortedDictionary<long, string> Stages { get; set; } = [];
    /// <summary>Per stage (in the order of its lowest live version, as MLflow), the full document of the highest live version.</summary>
    public List<VersionDocument> Latest { get; set; } = [];
    /// <summary>When the model was last renamed. MLflow's rename writes every version's last_updated_timestamp; Tracker
    /// leaves the version rows alone (a rename stays one transaction) and shows the later of the two instead.</summary>
    public long RenamedAt { get; set; }
}

/// <summary>A version row's document; the name comes from the model row, so a rename leaves version rows alone.</summary>
internal sealed class VersionDocument
{
    public long Version { get; set; }
    public long CreationTimestamp { get; set; }
    public long LastUpdatedTimestamp { get; set; }
    public string? UserId { get; set; }
    public string CurrentStage { get; set; } = ModelStages.None;
    public string Description { get; set; } = "";
    public string Source { get; set; } = "";
    public string? RunId { get; set; }
    public string RunLink { get; set; } = "";
    public List<KeyValue> Tags { get; set; } = [];
    public string? ModelId { get; set; }
    public string StorageLocation { get; set; } = "";
}

[JsonSerializable(typeof(ModelDocument))]
[JsonSerializable(typeof(VersionDocument))]
internal sealed partial class RegistryJson : JsonSerializerContext;
