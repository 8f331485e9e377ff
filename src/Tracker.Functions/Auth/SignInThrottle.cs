using Microsoft.Extensions.Caching.Memory;

namespace Tracker.Functions.Auth;

/// <summary>
/// Slows down guessing: a client with <see cref="MaxFailures"/> failed sign-ins within <see cref="Window"/> is refused
/// (429 with Retry-After) until the window ends, before any credential of theirs is checked again. Per instance, which
/// bounds a guesser to about that rate per instance; the sign-in log records every failure for anything slower.
/// </summary>
public sealed class SignInThrottle(TimeProvider time) : IDisposable
{
    public const int MaxFailures = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly MemoryCache _failures = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    private sealed class Count(DateTimeOffset windowEnds)
    {
        public int Failures;
        public DateTimeOffset WindowEnds { get; } = windowEnds;
    }

    /// <summary>Whether the client is refused for now, and for how long.</summary>
    public bool IsRefused(string client, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!_failures.TryGetValue(client, out Count? count) || Volatile.Read(ref count!.Failures) < MaxFailures) return false;
        retryAfter = count.WindowEnds - time.GetUtcNow();
        return retryAfter > TimeSpan.Zero;
    }

    public void RecordFailure(string client)
    {
        var now = time.GetUtcNow();
        var count = _failures.GetOrCreate(client, entry =>
        {
            entry.Size = 1;
            entry.AbsoluteExpiration = now + Window;
            return new Count(now + Window);
        })!;
        Interlocked.Increment(ref count.Failures);
    }

    public void Dispose() => _failures.Dispose();
}
