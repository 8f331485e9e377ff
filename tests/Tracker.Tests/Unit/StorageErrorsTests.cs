using Azure;
using Tracker.Core;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class StorageErrorsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public void ThrottlingServerErrorsAndNetworkFailuresAreTransient(int status) =>
        Assert.True(StorageErrors.IsTransient(new RequestFailedException(status, "x")));

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(409)]
    [InlineData(412)]
    public void DomainAnswersAreNot(int status) => Assert.False(StorageErrors.IsTransient(new RequestFailedException(status, "x")));

    [Fact]
    public async Task NetworkFailuresTheSdkGaveUpRetryingBecomeTemporarilyUnavailable()
    {
        // What the SDK throws once its retries of a refused connection or a timeout run out.
        var exhausted = new AggregateException("Retry failed after 4 tries.",
            new RequestFailedException("Connection refused (127.0.0.1:10002)"), new TaskCanceledException("The operation was cancelled."));
        var e = await Assert.ThrowsAsync<MlflowException>(() => StorageErrors.Call<int>(() => throw exhausted));
        Assert.Equal(ErrorCode.TemporarilyUnavailable, e.Code);
    }

    [Fact]
    public void TheCallersOwnCancellationAndOtherFailuresAreNotTransient()
    {
        Assert.False(StorageErrors.IsTransient(new OperationCanceledException()));
        Assert.False(StorageErrors.IsTransient(new AggregateException(new InvalidOperationException())));
        Assert.False(StorageErrors.IsTransient(new AggregateException()));
    }

    [Fact]
    public void TheMessageNamesNoEndpointWhileTheCauseStaysForTheLog()
    {
        // In Azure the host name is the storage account's; the client gets only the status, the log gets everything.
        var refused = new AggregateException("Retry failed after 4 tries.",
            new RequestFailedException("Connection refused (trackerdata.table.core.windows.net:443)"));
        var e = StorageErrors.Transient(refused);
        Assert.DoesNotContain("trackerdata", e.Message);
        Assert.DoesNotContain("443", e.Message);
        Assert.Same(refused, e.InnerException);

        var busy = new RequestFailedException(503, "The server is busy. https://trackerdata.table.core.windows.net/runs", "ServerBusy", null);
        Assert.Equal("Storage is temporarily unavailable (503 ServerBusy). Please retry.", StorageErrors.Transient(busy).Message);
        Assert.Same(busy, StorageErrors.Transient(busy).InnerException);
    }
}
