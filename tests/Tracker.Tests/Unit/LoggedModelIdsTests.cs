using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Tracking;

namespace Tracker.Tests.Unit;

/// <summary>Logged model ids (m- + 32 hex, the last 8 the experiment id) and the proxy paths of their artifacts.</summary>
public class LoggedModelIdsTests
{
    private const string Model = "m-0123456789abcdef012345670000002a"; // experiment 42
    private const string Run = "0123456789abcdef0123456700000005"; // experiment 5

    [Theory]
    [InlineData("0")]
    [InlineData("5")]
    [InlineData("4294967295")]
    public void ANewIdHasMlflowsShapeAndCarriesItsExperiment(string experimentId)
    {
        var id = LoggedModelIds.New(experimentId);
        Assert.Matches("^m-[0-9a-f]{32}$", id);
        Assert.Equal(experimentId, LoggedModelIds.ExperimentOf(id));
        Assert.NotEqual(id, LoggedModelIds.New(experimentId));
    }

    [Fact]
    public void AnExperimentIdIsReadInItsOneSpelling() => Assert.Equal("42", LoggedModelIds.ExperimentOf(Model));

    [Theory]
    [InlineData("")]
    [InlineData("m-")]
    [InlineData(Run)] // a run id is not a model id
    [InlineData("x-0123456789abcdef012345670000002a")]
    [InlineData("m-0123456789ABCDEF012345670000002a")] // upper case was never issued
    [InlineData("m-0123456789abcdef012345670000002")]
    [InlineData("m-0123456789abcdef012345670000002a0")]
    [InlineData("m-0123456789abcdef01234567000000g2")]
    public void AnIdTrackerNeverIssuedNamesNoExperiment(string id) => Assert.Null(LoggedModelIds.ExperimentOf(id));

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("4294967296")]
    public void AnIdIsOnlyMadeForAnExperimentIdThatFits(string experimentId) => MlflowAssert.Throws(() => LoggedModelIds.New(experimentId));

    [Fact]
    public void TheArtifactUriIsMlflowsProxyLayout() =>
        Assert.Equal($"mlflow-artifacts:/42/models/{Model}/artifacts", LoggedModelIds.ArtifactUri("42", Model));

    [Fact]
    public void AProxyPathUnderModelsNamesTheModelAndTheBlob()
    {
        var at = ArtifactLocation.FromProxyPath($"42/models/{Model}/artifacts/dir/model.pkl", allowRoot: false);
        Assert.Equal(("42", null, Model, "dir/model.pkl"), (at.ExperimentId, at.RunId, at.ModelId, at.Path));
        Assert.Equal($"42/models/{Model}/artifacts/dir/model.pkl", at.BlobName);
        Assert.Equal("model.pkl", at.FileName);
        Assert.Equal($"mlflow-artifacts:/42/models/{Model}/artifacts/dir/model.pkl", at.ToString());
        Assert.Equal($"42/models/{Model}/artifacts/MLmodel", ArtifactLocation.FromProxyPath($"42/models/{Model}/artifacts", allowRoot: true).Child("MLmodel").BlobName);
    }

    [Fact]
    public void AModelsArtifactRootIsADirectoryNotAFile()
    {
        Assert.Equal("", ArtifactLocation.FromProxyPath($"42/models/{Model}/artifacts", allowRoot: true).Path);
        Assert.Equal("", ArtifactLocation.FromProxyPath($"42/models/{Model}/artifacts/", allowRoot: true).Path);
        MlflowAssert.Throws(() => ArtifactLocation.FromProxyPath($"42/models/{Model}/artifacts", allowRoot: false));
    }

    [Fact]
    public void AModelOfAnotherExperimentIsNotFoundThere()
    {
        var e = Assert.Throws<MlflowException>(() => ArtifactLocation.FromProxyPath($"5/models/{Model}/artifacts/x", allowRoot: false));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, e.Code);
        Assert.Equal($"Logged model with ID '{Model}' not found.", e.Message);
    }

    [Theory]
    [InlineData("42/models")]
    [InlineData("42/models/" + Model)]
    [InlineData("42/models/" + Model + "/files/x")]
    [InlineData("42/model/" + Model + "/artifacts/x")]
    public void APathOutsideEveryModelsArtifactsIsNoLocation(string path) => Assert.Null(ArtifactLocation.TryFromProxyPath(path, allowRoot: true));

    [Theory]
    [InlineData("42/models/" + Model + "/artifacts/../../" + Run + "/artifacts/x")]
    [InlineData("42/models/" + Model + "/artifacts/%2e%2e/x")]
    [InlineData("42/models/" + Model + "/artifacts/a\\b")]
    [InlineData("42/models/" + Model + "/artifacts/C:/x")]
    [InlineData("42/models/" + Model + "/artifacts//x")]
    public void UnsafePathsUnderAModelAreRefusedAsUnderARun(string path)
    {
        var e = Assert.Throws<MlflowException>(() => ArtifactLocation.FromProxyPath(path, allowRoot: false));
        Assert.StartsWith("Invalid path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunPathsAreUnchanged()
    {
        var at = ArtifactLocation.FromProxyPath($"5/{Run}/artifacts/a/b.txt", allowRoot: false);
        Assert.Equal(("5", Run, null, "a/b.txt"), (at.ExperimentId, at.RunId, at.ModelId, at.Path));
        Assert.Equal($"5/{Run}/artifacts/a/b.txt", at.BlobName);
    }

    [Fact]
    public void AModelDirectoryIsNamedByItsId()
    {
        var at = ArtifactLocation.ForModel(Model, "dir", allowRoot: true);
        Assert.Equal($"42/models/{Model}/artifacts/dir", at.BlobName);
        MlflowAssert.Throws(() => ArtifactLocation.ForModel(Model, "../x", allowRoot: true));
        Assert.Throws<MlflowException>(() => ArtifactLocation.ForModel(Run, "", allowRoot: true));
    }
}
