using Tracker.Core;
using Tracker.Core.Registry;

namespace Tracker.Tests.Unit;

/// <summary>
/// The form check of model-version sources (security baseline §1.2, case 4): only what names Tracker's own blobs or
/// registry entries is accepted, in its one spelling. What the accepted forms resolve to is tested over HTTP.
/// </summary>
public class ModelVersionSourcesTests
{
    private const string Run = "0123456789abcdef0123456700000005"; // experiment 5
    private const string OtherRun = "0123456789abcdef0123456700000007"; // experiment 7

    [Theory]
    [InlineData("runs:/" + Run + "/model", "5", "model")]
    [InlineData("runs:/" + Run + "/dir/sub model", "5", "dir/sub model")]
    [InlineData("runs:/" + Run + "/model/", "5", "model")] // one trailing slash names the same directory
    [InlineData("mlflow-artifacts:/5/" + Run + "/artifacts/model", "5", "model")]
    public void RunArtifactSourcesNameTheRunAndPath(string source, string experiment, string path)
    {
        var parsed = Assert.IsType<ModelVersionSource.RunArtifacts>(ModelVersionSources.Parse(source));
        Assert.Equal(Run, parsed.Location.RunId);
        Assert.Equal(experiment, parsed.Location.ExperimentId);
        Assert.Equal(path, parsed.Location.Path);
    }

    [Theory]
    [InlineData("models:/churn/3", "churn", 3)]
    [InlineData("models:/team/churn/12", "team/churn", 12)]
    public void RegistrySourcesNameAVersion(string source, string name, long version) =>
        Assert.Equal(new ModelVersionSource.RegisteredVersion(name, version), ModelVersionSources.Parse(source));

    [Fact]
    public void LoggedModelSourcesNameTheModel() =>
        Assert.Equal(new ModelVersionSource.LoggedModel("m-0123abcd"), ModelVersionSources.Parse("models:/m-0123abcd"));

    [Theory]
    // Other schemes and plain paths: Tracker has no file store and fetches nothing.
    [InlineData("file:///etc/")]
    [InlineData("file:/etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("../../../etc")]
    [InlineData("etc/passwd")]
    [InlineData("s3://bucket/model")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("https://example.com/model")]
    [InlineData("dbfs:/model")]
    [InlineData("wasbs://c@acct.blob.core.windows.net/model")]
    [InlineData("C:\\models\\m")]
    // Traversal in any encoding, NUL, control characters.
    [InlineData("runs:/" + Run + "/../" + OtherRun + "/model")]
    [InlineData("runs:/" + Run + "/model/%2e%2e/%2e%2e/x")]
    [InlineData("runs:/" + Run + "/model/%252e%252e/x")]
    [InlineData("runs:/" + Run + "/model%00.pkl")]
    [InlineData("runs:/" + Run + "/model\u0000")]
    [InlineData("models:/../1")]
    [InlineData("models:/a/%2e%2e/1")]
    [InlineData("mlflow-artifacts:/5/" + Run + "/artifacts/../../7/" + OtherRun + "/artifacts/m")]
    // Not in normal form: what is stored would not be what was checked.
    [InlineData("runs:/" + Run + "//model")]
    [InlineData("runs:/" + Run + "/./model")]
    [InlineData("runs://" + Run + "/model")]
    [InlineData("runs:///" + Run + "/model")]
    [InlineData("runs:/" + Run + "/a\\b")]
    // Tracker's URIs that name nothing of the run, or another server's.
    [InlineData("mlflow-artifacts://other-host/5/" + Run + "/artifacts/m")]
    [InlineData("mlflow-artifacts:/7/" + Run + "/artifacts/model")] // not that run's experiment
    [InlineData("mlflow-artifacts:/5/" + Run + "/model")]
    [InlineData("mlflow-artifacts:/5")]
    [InlineData("runs:/not-a-tracker-run/model")]
    // models:/ forms that name no fixed version, and malformed ones.
    [InlineData("models:/churn/Production")]
    [InlineData("models:/churn/latest")]
    [InlineData("models:/churn@champion")]
    [InlineData("models:/churn")]
    [InlineData("models:/churn/")]
    [InlineData("models:/m-")]
    [InlineData("models:/m-abc/extra")]
    [InlineData("models:/m-a.b")]
    [InlineData("RUNS:/" + Run + "/model")]
    public void EverythingElseIsRefusedWith400(string source)
    {
        var e = Assert.Throws<MlflowException>(() => ModelVersionSources.Parse(source));
        Assert.True(e.Code == ErrorCode.InvalidParameterValue || e.Code == ErrorCode.ResourceDoesNotExist, $"{source}: {e.Code} {e.Message}");
        if (e.Code == ErrorCode.ResourceDoesNotExist) Assert.Contains("not found", e.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void AMissingSourceIsMlflowsMissingParameter(string? source) =>
        Assert.Contains("Missing value for required parameter 'source'", Assert.Throws<MlflowException>(() => ModelVersionSources.Parse(source)).Message);
}
