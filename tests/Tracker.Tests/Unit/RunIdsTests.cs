using System.Globalization;
using System.Text.RegularExpressions;
using Tracker.Core;
using Tracker.Core.Tracking;

namespace Tracker.Tests.Unit;

public class RunIdsTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("5")]
    [InlineData("42")]
    [InlineData("123456789")]
    [InlineData("2147483647")]
    [InlineData("2147483648")]
    [InlineData("4294967295")]
    public void NewIdsRoundTripTheirExperiment(string experimentId)
    {
        var runId = RunIds.New(experimentId);
        Assert.Matches("^[0-9a-f]{32}$", runId);
        Assert.Equal(experimentId, RunIds.ExperimentOf(runId));
    }

    [Theory]
    [InlineData("0", "00000000")]
    [InlineData("5", "00000005")]
    [InlineData("255", "000000ff")]
    [InlineData("2147483647", "7fffffff")]
    [InlineData("4294967295", "ffffffff")]
    public void TheLastEightCharactersAreTheExperimentInHex(string experimentId, string suffix) =>
        Assert.EndsWith(suffix, RunIds.New(experimentId));

    [Fact]
    public void NewIdsAreRandom()
    {
        var ids = Enumerable.Range(0, 200).Select(_ => RunIds.New("7")).ToHashSet();
        Assert.Equal(200, ids.Count);
    }

    [Fact]
    public void NewIdsPassMlflowsRunIdValidation() => Validation.RunId(RunIds.New("3"));

    [Theory]
    [InlineData("0123456789abcdef0123456700000005", "5")]
    [InlineData("0123456789abcdef0123456700000000", "0")]
    [InlineData("ffffffffffffffffffffffffffffffff", "4294967295")]
    [InlineData("000000000000000000000000000003e8", "1000")]
    public void ExperimentOfReadsTheSuffix(string runId, string experimentId) =>
        Assert.Equal(experimentId, RunIds.ExperimentOf(runId));

    [Theory]
    [InlineData("")]
    [InlineData("0123456789ABCDEF0123456700000005")]
    [InlineData("0123456789abcdef012345670000000A")]
    [InlineData("0123456789abcdef012345670000005")]
    [InlineData("0123456789abcdef01234567000000050")]
    [InlineData("0123456789abcdeg0123456700000005")]
    [InlineData("01234567-89ab-cdef-0123-456700000005")]
    [InlineData("0123456789abcdef01234567 0000005")]
    [InlineData("0123456789abcdef012345670000000\n")]
    [InlineData("../../../../../../../../00000005")]
    [InlineData("0123456789abcdef012345670000000５")]
    public void IdsTrackerNeverIssuedHaveNoExperiment(string runId) => Assert.Null(RunIds.ExperimentOf(runId));

    [Fact]
    public void UppercaseVersionOfAnIssuedIdIsNotRecognised()
    {
        string runId;
        do runId = RunIds.New("5"); while (!runId.Any(char.IsAsciiLetter));
        Assert.Equal("5", RunIds.ExperimentOf(runId));
        Assert.Null(RunIds.ExperimentOf(runId.ToUpperInvariant()));
    }

    [Fact]
    public void LeadingZerosAreCanonicalisedAway() => Assert.Equal("5", RunIds.ExperimentOf(RunIds.New("05")));

    // Experiment ids up to 18 digits are accepted elsewhere (TrackingStore.IsExperimentId), but New formats the id with
    // "x8", which grows past 8 characters above uint.MaxValue.
    [Theory]
    [InlineData("4294967296")]
    [InlineData("999999999999999999")]
    public void IdsOfExperimentsBeyond32BitsRoundTripOrAreRefused(string experimentId)
    {
        string runId;
        try
        {
            runId = RunIds.New(experimentId);
        }
        catch (MlflowException)
        {
            return;
        }
        Assert.Equal(32, runId.Length);
        Assert.Equal(experimentId, RunIds.ExperimentOf(runId));
    }

    [Theory]
    [InlineData("5", "0123456789abcdef0123456700000005", "mlflow-artifacts:/5/0123456789abcdef0123456700000005/artifacts")]
    [InlineData("0", "abc", "mlflow-artifacts:/0/abc/artifacts")]
    public void ArtifactUriIsProxyModeLayout(string experimentId, string runId, string expected) =>
        Assert.Equal(expected, RunIds.ArtifactUri(experimentId, runId));

    [Theory]
    [InlineData("0", "mlflow-artifacts:/0")]
    [InlineData("17", "mlflow-artifacts:/17")]
    public void ExperimentArtifactLocationHasOneSlashAndNoHost(string experimentId, string expected) =>
        Assert.Equal(expected, RunIds.ExperimentArtifactLocation(experimentId));

    [Fact]
    public void ArtifactUriOfANewRunEmbedsItsExperiment()
    {
        var runId = RunIds.New("12");
        var uri = RunIds.ArtifactUri(RunIds.ExperimentOf(runId)!, runId);
        Assert.Matches(new Regex("^mlflow-artifacts:/12/[0-9a-f]{32}/artifacts$"), uri);
        Assert.Equal(12, int.Parse(uri.Split('/')[1], CultureInfo.InvariantCulture));
    }
}
