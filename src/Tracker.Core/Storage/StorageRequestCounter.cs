using Azure.Core;
using Azure.Core.Pipeline;

namespace Tracker.Core.Storage;

/// <summary>
/// Counts the Azure Storage requests made on behalf of the current HTTP request, so benchmarks can check the
/// "storage requests per call" budget. One pipeline policy on every Azure client; the count flows with the async context.
/// </summary>
public sealed class StorageRequestCounter : HttpPipelineSynchronousPolicy
{
    private static readonly AsyncLocal<Counter?> Current = new();

    public sealed class Counter
    {
        private int _count;
        public int Count => Volatile.Read(ref _count);
        internal void Increment() => Interlocked.Increment(ref _count);
    }

    /// <summary>Starts counting for the current async flow (an HTTP request).</summary>
    public static Counter Begin() => Current.Value = new Counter();

    public override void OnSendingRequest(HttpMessage message) => Current.Value?.Increment();
}
