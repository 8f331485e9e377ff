using System.Runtime.InteropServices;

namespace Tracker.Bench;

/// <summary>
/// One token for the whole bench: cancelled by Ctrl-C / SIGTERM or when the hard time limit passes,
/// so every loop unwinds through Program's <c>finally</c> and a launched server is always stopped.
/// </summary>
public sealed class BenchCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _signals;
    private int _signalled;

    public BenchCancellation(TimeSpan timeLimit)
    {
        _source.CancelAfter(timeLimit);
        _signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _source.Token;

    public bool TimedOut => _source.IsCancellationRequested && Volatile.Read(ref _signalled) == 0;

    private void OnSignal(PosixSignalContext context)
    {
        // The first signal unwinds cleanly; a second one gets the default (terminate), and the
        // launched server is then stopped by LaunchedServer's ProcessExit hook.
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            context.Cancel = true;
            _source.Cancel();
        }
    }

    public void Dispose()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        _source.Dispose();
    }
}
