namespace Tracker.Core.Storage;

/// <summary>
/// One-time set-up (creating tables or a container) shared by every caller, like <see cref="Lazy{T}"/>, except that a
/// failure is not remembered: a storage hiccup during a cold start fails the requests waiting on it, and the next
/// request tries again instead of the instance staying broken until it is recycled.
/// </summary>
internal sealed class OnceUntilSuccess(Func<Task> setUp)
{
    private Lazy<Task> _current = new(setUp);

    public async Task RunAsync()
    {
        var attempt = _current;
        try
        {
            await attempt.Value;
        }
        catch
        {
            Interlocked.CompareExchange(ref _current, new Lazy<Task>(setUp), attempt);
            throw;
        }
    }
}
