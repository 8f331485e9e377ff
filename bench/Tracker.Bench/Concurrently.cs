using System.Runtime.ExceptionServices;

namespace Tracker.Bench;

/// <summary>
/// Runs a fixed number of workers at once. The first failure cancels the other workers and is the
/// exception rethrown — not the cancellations it caused — so a failed call is reported as itself.
/// </summary>
public static class Concurrently
{
    public static async Task RunAsync(int workers, Func<int, CancellationToken, Task> work, CancellationToken ct)
    {
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Exception? firstFailure = null;

        async Task RunWorkerAsync(int worker)
        {
            try
            {
                await work(worker, failFast.Token);
            }
            catch (OperationCanceledException) when (failFast.IsCancellationRequested)
            {
                // Stopped because another worker failed or the bench was cancelled.
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref firstFailure, e, null);
                failFast.Cancel();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => RunWorkerAsync(w), CancellationToken.None)));
        if (firstFailure is not null)
        {
            ExceptionDispatchInfo.Throw(firstFailure);
        }

        ct.ThrowIfCancellationRequested();
    }
}
