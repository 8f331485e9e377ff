using Tracker.Core;
using Tracker.Core.Artifacts;

namespace Tracker.Tests.Unit;

public class ArtifactPathTests
{
    private const string Run = "0123456789abcdef0123456700000005"; // experiment 5

    [Theory]
    [InlineData("model.pkl")]
    [InlineData("dir/sub/file.txt")]
    [InlineData("a..b/c.d..e")] // dots inside names are not traversal
    [InlineData("report%20final.txt")] // a literal percent sign decodes to a harmless name
    [InlineData("100%.txt")]
    [InlineData("über/日本.txt")]
    [InlineData("with space/and:colon")]
    public void PlainRelativePathsPassUnchanged(string path) => Assert.Equal(path, ArtifactPath.Validate(path, allowEmpty: false));

    [Theory]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a/..")]
    [InlineData("%2e%2e/x")]
    [InlineData("%2E%2E%2Fx")]
    [InlineData("..%2fx")]
    [InlineData("%252e%252e%252fx")] // double-encoded
    [InlineData("%25252e%25252e/x")] // triple-encoded
    [InlineData("..%5cx")]
    [InlineData("a\\..\\b")]
    [InlineData("a\\b")]
    [InlineData("/etc/passwd")]
    [InlineData("%2fetc/passwd")]
    [InlineData("C:/x")]
    [InlineData("C:\\x")]
    [InlineData("c:x")]
    [InlineData("\\\\host\\share")]
    [InlineData("file:///etc/passwd")]
    [InlineData("a#b")]
    [InlineData("a%23b")]
    [InlineData("a?b")]
    [InlineData("a%3fb")]
    [InlineData("a\0b")]
    [InlineData("a%00b")]
    [InlineData("a\nb")]
    [InlineData("a%0d%0ab")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("./a")]
    [InlineData("a/./b")]
    [InlineData("..%c0%afx")] // overlong '/': not UTF-8, so no decoder may read it as a separator
    [InlineData("%c0%ae%c0%ae/x")] // overlong '.'
    [InlineData("%e0%80%ae%e0%80%ae/x")] // three-byte overlong '.'
    [InlineData("a%ffb")]
    [InlineData("a%80b")] // a lone continuation byte
    [InlineData("a%c3")] // a sequence cut short
    [InlineData("a%ed%a0%80b")] // an encoded UTF-16 surrogate
    [InlineData("a%25c0%25afb")] // invalid only after a second decoding
    [InlineData("a%ef%bf%bdb")] // U+FFFD, what a lenient decoder makes of the above
    [InlineData("a\uFFFDb")]
    [InlineData("a;b")] // a path-parameter delimiter some servers and proxies cut at
    [InlineData("a%3bb")]
    public void EveryTraversalFormIsInvalid(string path)
    {
        var e = MlflowAssert.Throws(() => ArtifactPath.Validate(path, allowEmpty: true));
        Assert.Equal("Invalid path", e.Message); // MLflow's whole message, which clients and scripts match on
    }

    /// <summary>JSON can carry a lone surrogate (<c>"\ud800"</c>); no blob name can, and theory data cannot either.</summary>
    [Fact]
    public void ALoneSurrogateIsInvalid() =>
        Assert.Equal("Invalid path", MlflowAssert.Throws(() => ArtifactPath.Validate("a" + (char)0xD800 + "b", allowEmpty: false)).Message);

    [Fact]
    public void AnEncodingNestedBeyondTenRoundsIsInvalid()
    {
        var path = "x";
        for (var i = 0; i < 12; i++) path = path.Replace("%", "%25", StringComparison.Ordinal) + "%41";
        MlflowAssert.Throws(() => ArtifactPath.Validate(path, allowEmpty: false));
    }

    [Fact]
    public void EmptyMeansTheDirectoryItselfOnlyWhereAllowed()
    {
        Assert.Equal("", ArtifactPath.Validate("", allowEmpty: true));
        Assert.Equal("", ArtifactPath.Validate(null, allowEmpty: true));
        MlflowAssert.Throws(() => ArtifactPath.Validate("", allowEmpty: false));
    }

    [Theory]
    [InlineData("/home/me/model.bin", "model.bin")]
    [InlineData("C:\\Users\\me\\model.bin", "model.bin")]
    [InlineData("model.bin", "model.bin")]
    public void AClientsLocalFileNameIsItsLastSegment(string local, string name) => Assert.Equal(name, ArtifactPath.FileName(local));

    [Theory]
    [InlineData("/home/me/")]
    [InlineData("/home/me/..")]
    public void ALocalPathWithoutAFileNameIsInvalid(string local) => MlflowAssert.Throws(() => ArtifactPath.FileName(local));

    [Fact]
    public void AProxyPathNamesTheRunAndTheBlob()
    {
        var at = ArtifactLocation.FromProxyPath($"5/{Run}/artifacts/dir/model.pkl", allowRoot: false);
        Assert.Equal(("5", Run, "dir/model.pkl"), (at.ExperimentId, at.RunId, at.Path));
        Assert.Equal($"5/{Run}/artifacts/dir/model.pkl", at.BlobName);
        Assert.Equal("model.pkl", at.FileName);
        Assert.Equal($"mlflow-artifacts:/5/{Run}/artifacts/dir/model.pkl", at.ToString());
    }

    [Theory]
    [InlineData("5")]
    [InlineData("5/x")]
    [InlineData("5/" + Run)]
    [InlineData("5/" + Run + "/other/x")]
    [InlineData("05/" + Run + "/artifacts/x")] // one spelling of an experiment id
    [InlineData("models/m-1/artifacts/x")]
    public void AProxyPathOutsideARunsArtifactDirectoryIsInvalid(string path) =>
        MlflowAssert.Throws(() => ArtifactLocation.FromProxyPath(path, allowRoot: true));

    [Theory]
    [InlineData("6/" + Run + "/artifacts/x")] // the run belongs to experiment 5
    [InlineData("5/not-a-tracker-run-id/artifacts/x")]
    public void AProxyPathWhoseRunIsNotInItsExperimentDoesNotExist(string path) =>
        MlflowAssert.Throws(ErrorCode.ResourceDoesNotExist, () => ArtifactLocation.FromProxyPath(path, allowRoot: true));

    [Fact]
    public void TheRunsRootIsAFileOnlyWhereAllowed()
    {
        Assert.Equal("", ArtifactLocation.FromProxyPath($"5/{Run}/artifacts", allowRoot: true).Path);
        Assert.Equal("", ArtifactLocation.FromProxyPath($"5/{Run}/artifacts/", allowRoot: true).Path); // the client's delete-all
        Assert.Equal("dir", ArtifactLocation.FromProxyPath($"5/{Run}/artifacts/dir/", allowRoot: true).Path);
        MlflowAssert.Throws(() => ArtifactLocation.FromProxyPath($"5/{Run}/artifacts/dir//", allowRoot: true));
        MlflowAssert.Throws(() => ArtifactLocation.FromProxyPath($"5/{Run}/artifacts/file/", allowRoot: false));
        MlflowAssert.Throws(() => ArtifactLocation.FromProxyPath($"5/{Run}/artifacts", allowRoot: false));
    }

    [Fact]
    public void ABlobNameIsAtMost1024Characters()
    {
        var prefix = $"5/{Run}/artifacts/".Length;
        Assert.Equal(1024, ArtifactLocation.ForRun(Run, new string('a', 1024 - prefix), allowRoot: false).BlobName.Length);
        MlflowAssert.Throws(() => ArtifactLocation.ForRun(Run, new string('a', 1025 - prefix), allowRoot: false));
    }

    [Theory]
    [InlineData("runs:/" + Run + "/model/MLmodel", "model/MLmodel")]
    [InlineData("runs:/" + Run + "/model", "model")]
    [InlineData("runs:/" + Run, "")]
    [InlineData("mlflow-artifacts:/5/" + Run + "/artifacts/model/MLmodel", "model/MLmodel")]
    [InlineData("mlflow-artifacts:/5/" + Run + "/artifacts", "")]
    public void RunAndProxyUrisResolveToTheRunsArtifacts(string uri, string path)
    {
        var at = ArtifactLocation.FromUri(uri, allowRoot: true);
        Assert.Equal(("5", Run, path), (at.ExperimentId, at.RunId, at.Path));
    }

    /// <summary>One trailing slash names a directory: accepted where a directory may be named, on every route's form alike.</summary>
    [Theory]
    [InlineData("runs:/" + Run + "/ok.txt/")]
    [InlineData("mlflow-artifacts:/5/" + Run + "/artifacts/ok.txt/")]
    [InlineData("runs:/" + Run + "/")]
    [InlineData("mlflow-artifacts:/5/" + Run + "/artifacts/")]
    public void AUriWithATrailingSlashNamesNoFile(string uri)
    {
        MlflowAssert.Throws(() => ArtifactLocation.FromUri(uri, allowRoot: false));
        Assert.Equal(uri.EndsWith("ok.txt/", StringComparison.Ordinal) ? "ok.txt" : "", ArtifactLocation.FromUri(uri, allowRoot: true).Path);
    }

    [Fact]
    public void ARunPathWithATrailingSlashIsADirectoryOnlyWhereAllowed()
    {
        Assert.Equal("dir", ArtifactLocation.ForRun(Run, "dir/", allowRoot: true).Path);
        MlflowAssert.Throws(() => ArtifactLocation.ForRun(Run, "dir/", allowRoot: false));
        MlflowAssert.Throws(() => ArtifactLocation.ForRun(Run, "dir//", allowRoot: true));
        MlflowAssert.Throws(() => ArtifactLocation.ForRun(Run, "/", allowRoot: true));
    }

    [Theory]
    [InlineData("runs:/" + Run + "/../" + Run + "/x")]
    [InlineData("runs:/" + Run + "/%2e%2e/x")]
    [InlineData("mlflow-artifacts://evil.example/5/" + Run + "/artifacts/x")]
    [InlineData("file:///etc/passwd")]
    [InlineData("wasbs://c@acct.blob.core.windows.net/x")]
    [InlineData("models:/m/1")]
    public void OtherUrisAndEscapesAreInvalid(string uri) => MlflowAssert.Throws(() => ArtifactLocation.FromUri(uri, allowRoot: true));

    [Theory]
    [InlineData("report.json", "text/plain")] // MLflow's text extensions
    [InlineData("MLmodel", "text/plain")]
    [InlineData("model.pkl", "application/octet-stream")]
    [InlineData("plot.png", "application/octet-stream")]
    [InlineData("evil.html", "application/octet-stream")] // never a type a browser renders
    [InlineData("evil.svg", "application/octet-stream")]
    [InlineData("no-extension", "application/octet-stream")]
    public void ContentTypesAreTextForMlflowsTextExtensionsAndBytesOtherwise(string name, string type) => Assert.Equal(type, ArtifactContentTypes.Guess(name));
}
