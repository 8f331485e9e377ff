using Tracker.Core.Lifecycle;

namespace Tracker.Tests.Unit;

/// <summary>How the lifecycle workers tell which blobs a location covers: a file, or a directory and what lies below it,
/// never a sibling that merely shares the name's start; and which URIs name files of this server at all.</summary>
public sealed class LifecycleBlobsTests
{
    private const string Run = "0123456789abcdef0123456700000007";

    [Theory]
    [InlineData("7/r/artifacts/model", "7/r/artifacts/model", true)]
    [InlineData("7/r/artifacts/model/MLmodel", "7/r/artifacts/model", true)]
    [InlineData("7/r/artifacts/model/a/b", "7/r/artifacts/model", true)]
    [InlineData("7/r/artifacts/model.pkl", "7/r/artifacts/model", false)]
    [InlineData("7/r/artifacts/models/x", "7/r/artifacts/model", false)]
    [InlineData("7/r/artifacts", "7/r/artifacts/model", false)]
    public void WithinIsTheFileOrItsDirectory(string name, string prefix, bool within) =>
        Assert.Equal(within, LifecycleBlobs.Within(name, prefix));

    [Fact]
    public void OverlapGoesBothWays()
    {
        Assert.True(LifecycleBlobs.Overlap("7/r/artifacts", "7/r/artifacts/model"));
        Assert.True(LifecycleBlobs.Overlap("7/r/artifacts/model", "7/r/artifacts"));
        Assert.False(LifecycleBlobs.Overlap("7/r/artifacts/model", "7/r/artifacts/model2"));
    }

    [Theory]
    [InlineData("runs:/" + Run + "/model", "7/" + Run + "/artifacts/model")]
    [InlineData("runs:/" + Run, "7/" + Run + "/artifacts")]
    [InlineData("mlflow-artifacts:/7/" + Run + "/artifacts/model", "7/" + Run + "/artifacts/model")]
    [InlineData("mlflow-artifacts:/7/models/m-0123456789abcdef0123456700000007/artifacts", "7/models/m-0123456789abcdef0123456700000007/artifacts")]
    [InlineData("models:/name/1", null)]
    [InlineData("s3://bucket/key", null)]
    [InlineData("runs:/" + Run + "/../x", null)]
    [InlineData("mlflow-artifacts://other-host/7/" + Run + "/artifacts", null)]
    [InlineData("", null)]
    public void BlobPrefixOfNamesOnlyThisServersFiles(string uri, string? prefix) =>
        Assert.Equal(prefix, LifecycleBlobs.BlobPrefixOf(uri));
}
