using System.Collections.Concurrent;

namespace Tracker.Functions.Telemetry;

/// <summary>
/// The app's logging provider for OpenTelemetry, which exists before OpenTelemetry does (<see cref="TelemetryPipeline"/>).
/// Until the pipeline is attached it keeps the records in order (at most <see cref="Capacity"/>; start-up writes a
/// dozen) and replays them into it once; after that every record goes straight through. A replayed record carries the
/// time it was replayed, at most about a second late.
/// </summary>
public sealed class DeferredLoggerProvider : ILoggerProvider
{
    public const int Capacity = 1000;

    private readonly ConcurrentDictionary<string, DeferredLogger> _loggers = new();
    private readonly Lock _gate = new();
    private volatile Queue<Action<ILoggerFactory>>? _pending = new();
    private int _dropped;
    private volatile ILoggerFactory? _sdk;

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, c => new DeferredLogger(this, c));

    public void Attach(ILoggerFactory sdk)
    {
        Queue<Action<ILoggerFactory>> pending;
        lock (_gate)
        {
            pending = _pending!;
            // Records logged from here on wait for the replay below (the gate), then go straight through.
            foreach (var replay in pending) replay(sdk);
            _pending = null;
            _sdk = sdk;
        }
        if (_dropped > 0)
            sdk.CreateLogger<DeferredLoggerProvider>().LogWarning("{Dropped} log records written during start-up were not exported (more than {Capacity}).", _dropped, Capacity);
    }

    public void Detach()
    {
        lock (_gate) _sdk = null;
    }

    public void Dispose() => Detach();

    private sealed class DeferredLogger(DeferredLoggerProvider provider, string category) : ILogger
    {
        private ILogger? _inner;

        private ILogger? Inner()
        {
            var sdk = provider._sdk;
            if (sdk is null) return null;
            return _inner ??= sdk.CreateLogger(category);
        }

        public bool IsEnabled(LogLevel logLevel) => provider._pending is not null || (Inner()?.IsEnabled(logLevel) ?? false);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => Inner()?.BeginScope(state);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Inner() is { } inner)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }
            lock (provider._gate)
            {
                if (provider._pending is { } pending)
                {
                    if (pending.Count < Capacity)
                        pending.Enqueue(sdk => sdk.CreateLogger(category).Log(logLevel, eventId, state, exception, formatter));
                    else
                        provider._dropped++;
                    return;
                }
            }
            // Attached while this record waited at the gate.
            Inner()?.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
