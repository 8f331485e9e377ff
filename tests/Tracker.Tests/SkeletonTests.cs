namespace Tracker.Tests;

public class SkeletonTests
{
    [Fact]
    public void ErrorCodesMapToMlflowStatuses() => Assert.Equal(400, Tracker.Core.ErrorCode.ResourceAlreadyExists.HttpStatus);
}
