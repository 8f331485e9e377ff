using Microsoft.Extensions.Logging;
using Tracker.Functions.Telemetry;

namespace Tracker.Tests.Telemetry;

public sealed class DeferredLoggerProviderTests
{
    private sealed class Capture : ILoggerProvider
    {
        public List<string> Lines { get; } = [];
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(Capture capture, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (capture.Lines) capture.Lines.Add($"{category}|{logLevel}|{formatter(state, exception)}");
            }
        }
    }

    private static (DeferredLoggerProvider Deferred, ILoggerFactory Sdk, Capture Capture) Create()
    {
        var capture = new Capture();
        return (new DeferredLoggerProvider(), LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(capture)), capture);
    }

    [Fact]
    public void RecordsFromBeforeThePipelineAreReplayedInOrderThenPassStraightThrough()
    {
        var (deferred, sdk, capture) = Create();
        var a = deferred.CreateLogger("A");
        var b = deferred.CreateLogger("B");
        a.LogInformation("one {N}", 1);
        b.LogWarning("two");
        Assert.Empty(capture.Lines);

        deferred.Attach(sdk);
        Assert.Equal(["A|Information|one 1", "B|Warning|two"], capture.Lines);

        a.LogError("three");
        Assert.Equal("A|Error|three", capture.Lines[^1]);
    }

    [Fact]
    public void AFloodBeforeThePipelineIsCappedAndTheLossReported()
    {
        var (deferred, sdk, capture) = Create();
        var logger = deferred.CreateLogger("A");
        for (var i = 0; i < DeferredLoggerProvider.Capacity + 5; i++) logger.LogInformation("line {I}", i);

        deferred.Attach(sdk);
        Assert.Equal(DeferredLoggerProvider.Capacity + 1, capture.Lines.Count);
        Assert.Equal($"A|Information|line {DeferredLoggerProvider.Capacity - 1}", capture.Lines[^2]);
        Assert.Contains("5 log records written during start-up were not exported", capture.Lines[^1]);
    }

    [Fact]
    public void NothingPassesAfterShutDown()
    {
        var (deferred, sdk, capture) = Create();
        deferred.Attach(sdk);
        deferred.Dispose();
        deferred.CreateLogger("A").LogInformation("late");
        Assert.Empty(capture.Lines);
    }
}
