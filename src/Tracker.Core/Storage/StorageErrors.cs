using Azure;
using Azure.Data.Tables.Models;

namespace Tracker.Core.Storage;

/// <summary>Turns Azure SDK failures into MLflow errors at the storage boundary (STYLE.md §4).</summary>
internal static class StorageErrors
{
    public const int NotFound = 404;
    public const int Conflict = 409;
    public const int PreconditionFailed = 412;

    /// <summary>
    /// Anything that is not a domain condition the store handles itself is transient from the client's point of view:
    /// 503 makes the MLflow client back off and retry, which is right for throttling and outages. The message names
    /// only the status: the SDK's own messages carry the storage host and port (in Azure, the account name), which
    /// only the log may see, through the cause the 5xx log line records.
    /// </summary>
    public static MlflowException Transient(Exception e) =>
        new(ErrorCode.TemporarilyUnavailable, $"Storage is temporarily unavailable ({Describe(e)}). Please retry.", e);

    private static string Describe(Exception e) => e switch
    {
        RequestFailedException { Status: > 0 } r => $"{r.Status} {r.ErrorCode}".TrimEnd(),
        AggregateException { InnerExceptions.Count: > 0 } a => Describe(a.InnerExceptions[^1]),
        OperationCanceledException => "timeout",
        _ => "no connection",
    };

    /// <summary>Every optimistic retry lost to other writers: retryable, so the client backs off and tries again.</summary>
    public static MlflowException TooMuchContention(string what) =>
        new(ErrorCode.TemporarilyUnavailable, $"Too many concurrent writes to {what}. Please retry.");

    /// <summary>
    /// A race lost between two reads (rows that belong together, read while a writer replaced them): the same as a 412,
    /// so <see cref="TableStorage.OptimisticAsync{T}"/> tries again.
    /// </summary>
    public static RequestFailedException LostRace(string what) => new(PreconditionFailed, $"{what} changed between two reads.");

    /// <summary>
    /// Throttling, server errors and network failures. Once the SDK's own retries run out on network failures
    /// (connection refused, timeouts) it throws them all as one AggregateException.
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        // Inside it, a cancellation is the SDK's network timeout: the caller's own cancellation is never retried.
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(i => IsTransient(i) || i is OperationCanceledException),
        _ => false,
    };

    /// <summary>Runs one storage call, turning a transient Azure failure into MLflow's TEMPORARILY_UNAVAILABLE.</summary>
    public static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (IsTransient(e))
        {
            throw Transient(e);
        }
    }

    public static Task Call(Func<Task> call) => Call(async () =>
    {
        await call();
        return true;
    });
}

internal static class AsyncPageableExtensions
{
    /// <summary>Enumerates a query, turning transient Azure failures into MLflow's TEMPORARILY_UNAVAILABLE. With
    /// <paramref name="tableMayBeMissing"/>, a read that does not wait for its store to create its tables
    /// (<see cref="TableStorage.CreateTablesOnce"/>): a table not created yet holds no rows.</summary>
    public static async IAsyncEnumerable<T> WithTransientErrors<T>(this AsyncPageable<T> source, bool tableMayBeMissing = false) where T : notnull
    {
        await using var items = source.GetAsyncEnumerator();
        while (true)
        {
            bool more;
            try
            {
                more = await items.MoveNextAsync();
            }
            catch (Exception e) when (StorageErrors.IsTransient(e))
            {
                throw StorageErrors.Transient(e);
            }
            catch (RequestFailedException e) when (tableMayBeMissing && e.ErrorCode == TableErrorCode.TableNotFound)
            {
                yield break;
            }
            if (!more) yield break;
            yield return items.Current;
        }
    }
}
