using Azure;
using Tracker.Core;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

/// <summary>The shared optimistic-retry and budget helpers every store uses.</summary>
public class TableStorageTests
{
    [Fact]
    public async Task ALostRaceIsRetriedUntilTheWriteGoesThrough()
    {
        var attempts = 0;
        var result = await TableStorage.OptimisticAsync("x", 5, i =>
        {
            attempts++;
            return i < 2 ? throw new RequestFailedException(StorageErrors.PreconditionFailed, "lost") : Task.FromResult(i);
        }, CancellationToken.None);
        Assert.Equal((2, 3), (result, attempts));
    }

    [Fact]
    public async Task AConflictIsALostRaceOnlyWhenTheCallerSaysSo()
    {
        var conflict = () => Task.FromException<int>(new RequestFailedException(StorageErrors.Conflict, "exists"));
        await Assert.ThrowsAsync<RequestFailedException>(() => TableStorage.OptimisticAsync("x", 3, _ => conflict(), CancellationToken.None));
        var attempts = 0;
        var e = await Assert.ThrowsAsync<MlflowException>(() => TableStorage.OptimisticAsync("the things", 3, _ =>
        {
            attempts++;
            return conflict();
        }, CancellationToken.None, conflictIsLostRace: true));
        Assert.Equal(4, attempts); // the first try and three retries
        Assert.Equal(ErrorCode.TemporarilyUnavailable, e.Code);
        Assert.Equal("Too many concurrent writes to the things. Please retry.", e.Message);
    }

    [Fact]
    public async Task WorkPastItsBudgetAnswersRetryableUnavailable()
    {
        var e = await Assert.ThrowsAsync<MlflowException>(() => TableStorage.WithinBudget(
            TimeSpan.FromMilliseconds(1), ct => Task.Delay(Timeout.Infinite, ct), CancellationToken.None));
        Assert.Equal(ErrorCode.TemporarilyUnavailable, e.Code);
    }

    [Fact]
    public async Task TheCallersOwnCancellationStaysACancellation()
    {
        using var gone = new CancellationTokenSource();
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TableStorage.WithinBudget(
            TimeSpan.FromMinutes(1), ct => Task.Delay(Timeout.Infinite, ct), gone.Token));
    }

    [Fact]
    public void APrefixScanIsARangeOfOnePartition() =>
        Assert.Equal("PartitionKey eq 'r' and RowKey ge 'v:ab:' and RowKey lt 'v:ab;' and Lifecycle eq 'active'",
            TableStorage.RowsWithPrefix("r", "v:ab:", $"Lifecycle eq {"active"}"));
}
