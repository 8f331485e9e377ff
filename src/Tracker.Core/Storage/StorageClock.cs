using Azure.Core;
using Azure.Core.Pipeline;

namespace Tracker.Core.Storage;

/// <summary>
/// Storage's time as this instance can know it: the local clock plus the offset that storage's own answers show (every
/// response carries a <c>Date</c> header). The change feed (<see cref="ChangeFeed"/>) keys its rows by this time, so
/// instances whose clocks disagree still write keys in one order, storage's.
///
/// The estimate never runs ahead of storage's clock by more than the local clock drifts between answers: <c>Date</c>
/// has whole seconds and is stamped before the answer travels back, so each sample can only undershoot, and the
/// estimate takes the largest sample of the last 30 – 60 s (older ones give way to newer ones, so a local clock that was
/// stepped forward does not keep the estimate ahead for long; without newer answers the last offset stays). It lags
/// storage by at most <see cref="MaxLag"/>: a second of rounding plus the answer's trip, which the change feed's reading
/// margin covers.
/// </summary>
public sealed class StorageClock(TimeProvider time) : HttpPipelineSynchronousPolicy
{
    /// <summary>How far behind storage's clock the estimate may be: the <c>Date</c> header's rounding (1 s) plus an
    /// answer's trip back, with room to spare.</summary>
    public static readonly TimeSpan MaxLag = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    // The largest offset sampled in the current and the previous window: the estimate uses the larger of the two.
    private TimeSpan? _current, _previous;
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;

    /// <summary>True once any storage answer has been seen (before that, <see cref="Now"/> is the local clock).</summary>
    public bool Calibrated
    {
        get
        {
            lock (_gate) return _current is not null || _previous is not null;
        }
    }

    /// <summary>Storage's current time as best known here (never ahead of it but for local clock drift).</summary>
    public DateTimeOffset Now()
    {
        var local = time.GetUtcNow();
        lock (_gate)
        {
            Roll(local);
            return (Max(_current, _previous) is { } offset) ? local + offset : local;
        }
    }

    /// <summary>Records one answer's <c>Date</c> (storage's time, whole seconds) against the local time it arrived.</summary>
    public void Observe(DateTimeOffset storageDate)
    {
        var local = time.GetUtcNow();
        var sample = storageDate - local;
        lock (_gate)
        {
            Roll(local);
            if (_current is null || sample > _current) _current = sample;
        }
    }

    public override void OnReceivedResponse(HttpMessage message)
    {
        if (message.HasResponse && message.Response.Headers.Date is { } date) Observe(date);
    }

    private void Roll(DateTimeOffset local)
    {
        if (local >= _windowStart && local - _windowStart < Window) return;
        // A window without answers keeps the last known offset: an idle instance must not fall back to its own clock.
        _previous = _current ?? _previous;
        _current = null;
        _windowStart = local;
    }

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
