using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class OnceUntilSuccessTests
{
    [Fact]
    public async Task ConcurrentCallersShareOneRunAndASuccessIsKept()
    {
        var runs = 0;
        var gate = new TaskCompletionSource();
        var once = new OnceUntilSuccess(async () =>
        {
            Interlocked.Increment(ref runs);
            await gate.Task;
        });
        var callers = Enumerable.Range(0, 8).Select(_ => once.RunAsync()).ToList();
        gate.SetResult();
        await Task.WhenAll(callers);
        await once.RunAsync();
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task AFailureIsNotRememberedTheNextCallTriesAgain()
    {
        var runs = 0;
        var once = new OnceUntilSuccess(() => ++runs == 1 ? Task.FromException(new TimeoutException()) : Task.CompletedTask);
        await Assert.ThrowsAsync<TimeoutException>(once.RunAsync);
        await once.RunAsync();
        await once.RunAsync();
        Assert.Equal(2, runs);
    }
}
