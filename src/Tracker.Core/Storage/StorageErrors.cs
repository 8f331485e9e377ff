using Azure;

namespace Tracker.Core.Storage;

/// <summary>Turns Azure SDK failures into MLflow errors at the storage boundary (STYLE.md §4).</summary>
internal static class StorageErrors
{
    public const int NotFound = 404;
    public const int Conflict = 409;
    public const int PreconditionFailed = 412;

    /// <summary>
    /// Anything that is not a domain condition the store handles itself is transient from the client's point of view:
    /// 503 makes the MLflow client back off and retry, which is right for throttling and outages.
    /// </summary>
    public static MlflowException Transient(RequestFailedException e) =>
        new(ErrorCode.TemporarilyUnavailable, $"Storage is temporarily unavailable ({e.Status} {e.ErrorCode}). Please retry.");

    /// <summary>Every optimistic retry lost to other writers: retryable, so the client backs off and tries again.</summary>
    public static MlflowException TooMuchContention(string what) =>
        new(ErrorCode.TemporarilyUnavailable, $"Too many concurrent writes to {what}. Please retry.");

    public static bool IsTransient(Exception e) => e is RequestFailedException { Status: 0 or 408 or 429 or >= 500 };

    /// <summary>Runs one storage call, turning a transient Azure failure into MLflow's TEMPORARILY_UNAVAILABLE.</summary>
    public static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RequestFailedException e) when (IsTransient(e))
        {
            throw Transient(e);
        }
    }
}

internal static class AsyncPageableExtensions
{
    /// <summary>Enumerates a query, turning transient Azure failures into MLflow's TEMPORARILY_UNAVAILABLE.</summary>
    public static async IAsyncEnumerable<T> WithTransientErrors<T>(this AsyncPageable<T> source) where T : notnull
    {
        await using var items = source.GetAsyncEnumerator();
        while (true)
        {
            bool more;
            try
            {
                more = await items.MoveNextAsync();
            }
            catch (RequestFailedException e) when (StorageErrors.IsTransient(e))
            {
                throw StorageErrors.Transient(e);
            }
            if (!more) yield break;
            yield return items.Current;
        }
    }
}
