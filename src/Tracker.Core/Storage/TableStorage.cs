using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Data.Tables;
using Azure.Data.Tables.Models;
using Tracker.Core.Auth;

namespace Tracker.Core.Storage;

/// <summary>
/// The Table Storage moves every store makes the same way (STYLE.md, "Storage/ holds the shared Table helpers"): a
/// per-call time budget, optimistic read-modify-write retries, range scans, signed page tokens and create-tables-once.
/// Transient-error mapping is <see cref="StorageErrors.Call{T}"/>. Static on purpose: each store passes what is its own
/// (its budget, its server keys, its tables).
/// </summary>
internal static class TableStorage
{
    /// <summary>
    /// Bounds one call's whole storage work (its turn behind other writers, the SDK's retries, backoffs) by
    /// <paramref name="budget"/> (<see cref="StorageOptions.RequestTimeout"/>): a stalled storage answers a retryable 503
    /// well before the MLflow client's own 120 s timeout, instead of holding the request for as long as the stall lasts.
    /// The caller's own cancellation (a client that went away) stays a cancellation.
    /// </summary>
    public static async Task<T> WithinBudget<T>(TimeSpan budget, Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(budget);
        try
        {
            return await work(limit.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw StorageErrors.Transient(e); // logged with its cause where the 503 is written
        }
    }

    public static Task WithinBudget(TimeSpan budget, Func<CancellationToken, Task> work, CancellationToken ct) =>
        WithinBudget(budget, async t =>
        {
            await work(t);
            return true;
        }, ct);

    /// <summary>
    /// Optimistic read-modify-write: runs <paramref name="attempt"/> (which reads, changes and writes under the ETag it
    /// read) until it completes without losing a race, backing off between tries. A lost race is a 412, or also a 409
    /// with <paramref name="conflictIsLostRace"/> (an Add that another writer made first, e.g. of a counter row); an
    /// attempt that must tell a 409 apart (a name that exists) catches it itself. After <paramref name="maxRetries"/>
    /// lost races: <see cref="StorageErrors.TooMuchContention"/>, a retryable 503.
    /// </summary>
    public static async Task<T> OptimisticAsync<T>(
        string what, int maxRetries, Func<int, Task<T>> attempt, CancellationToken ct, bool conflictIsLostRace = false)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                return await attempt(i);
            }
            catch (RequestFailedException e) when (e.Status == StorageErrors.PreconditionFailed ||
                                                   (conflictIsLostRace && e.Status == StorageErrors.Conflict))
            {
                if (i >= maxRetries) throw StorageErrors.TooMuchContention(what);
                await BackoffAsync(i, ct);
            }
        }
    }

    public static Task OptimisticAsync(string what, int maxRetries, Func<int, Task> attempt, CancellationToken ct, bool conflictIsLostRace = false) =>
        OptimisticAsync(what, maxRetries, async i =>
        {
            await attempt(i);
            return true;
        }, ct, conflictIsLostRace);

    /// <summary>Exponential backoff with full jitter, capped at 100 ms, between optimistic-concurrency retries.</summary>
    public static async Task BackoffAsync(int attempt, CancellationToken ct) =>
        await Task.Delay(Random.Shared.Next(1, 2 + Math.Min(100, 2 << Math.Min(attempt, 6))), ct);

    public static string Filter(FormattableString filter) => TableClient.CreateQueryFilter(filter);

    /// <summary>Azure's limit on the actions of one entity-group transaction.</summary>
    public const int MaxTransactionActions = 100;

    /// <summary>
    /// What this code lets one entity-group transaction's entities weigh by <see cref="EstimatedBytes"/>: Azure allows a
    /// 4 MiB body, which also holds each action's multipart headers; the rest is the margin for those.
    /// </summary>
    public const int MaxTransactionEntityBytes = 3 * 1024 * 1024;

    /// <summary>
    /// An entity's share of a transaction's body, from above: the body is JSON, binary properties in base64 (4 bytes per
    /// 3), a string escaped at worst 6 bytes per character, plus the keys, type annotations and the action's headers.
    /// </summary>
    public static int EstimatedBytes(ITableEntity entity)
    {
        var bytes = 1024;
        if (entity is TableEntity properties)
            foreach (var (name, value) in properties)
                bytes += 2 * name.Length + 64 + value switch
                {
                    byte[] binary => (binary.Length + 2) / 3 * 4,
                    string text => 6 * text.Length,
                    _ => 32,
                };
        return bytes;
    }

    /// <summary>
    /// The rows of one partition whose row key starts with <paramref name="prefix"/> (which ends in ':'), a range scan,
    /// optionally narrowed by a further clause. Every value goes through <see cref="Filter"/>.
    /// </summary>
    public static string RowsWithPrefix(string partition, string prefix, FormattableString? narrowedBy = null)
    {
        var range = Filter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {MetricPoints.PrefixEnd(prefix)}");
        return narrowedBy is null ? range : $"{range} and {Filter(narrowedBy)}";
    }

    /// <summary>Where a page starts: 0 without a token, else the token's offset once it verifies for this query.</summary>
    public static async Task<PageToken> ReadPageTokenAsync(ServerKeys keys, string? token, PageQuery query, CancellationToken ct) =>
        PageToken.IsGiven(token) ? PageToken.Parse(token, await keys.GetAsync(PageToken.KeyPurpose, ct), query) : new PageToken(0);

    /// <summary>The signed token for the page after [offset, offset + pageSize), or null when that was the last page.</summary>
    public static async Task<string?> NextPageTokenAsync(
        ServerKeys keys, int offset, int pageSize, int total, PageQuery query, CancellationToken ct, Guid? snapshot = null) =>
        offset + pageSize < total ? PageToken.Next(offset, pageSize, total, await keys.GetAsync(PageToken.KeyPurpose, ct), query, snapshot) : null;

    /// <summary>
    /// Creates the table unless it exists, as the SDK's <c>CreateIfNotExistsAsync</c> does (a table still being deleted
    /// is an error), through <c>CreateAsync</c>: the SDK builds the other one's request body by reflection, which the
    /// native (AOT) build cannot do. Every store calls this (before its first write), so every build compiles it, and it
    /// also keeps what the SDK reflects on when it reads a row into a <see cref="TableEntity"/> (its constructor and
    /// properties), which the native compiler cannot see.
    /// </summary>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicProperties, typeof(TableEntity))]
    public static async Task CreateIfMissingAsync(TableClient table, CancellationToken ct = default)
    {
        try
        {
            await table.CreateAsync(ct);
        }
        catch (RequestFailedException e) when (e.Status == StorageErrors.Conflict && e.ErrorCode != TableErrorCode.TableBeingDeleted)
        {
            // It exists.
        }
    }

    /// <summary>
    /// Creates a store's tables on first use (never before Kestrel listens; each store says which calls wait for it),
    /// then runs <paramref name="then"/> (seed rows); a failure is retried by the next caller
    /// (<see cref="OnceUntilSuccess"/>). A caller stops waiting when its budget runs out
    /// (<c>RunAsync().WaitAsync(ct)</c>); the shared set-up goes on, bounded by the SDK's own timeouts.
    /// </summary>
    public static OnceUntilSuccess CreateTablesOnce(IReadOnlyList<TableClient> tables, Func<Task>? then = null) =>
        new(async () => await StorageErrors.Call(async () =>
        {
            // Side by side: a cold instance's first request waits for all of them.
            await Task.WhenAll(tables.Select(table => CreateIfMissingAsync(table)));
            if (then is not null) await then();
            return true;
        }));
}
