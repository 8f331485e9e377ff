using Tracker.Core.Tracking;

namespace Tracker.Tests.Unit;

public class RunStatusTests
{
    [Theory]
    [InlineData("RUNNING", "RUNNING")]
    [InlineData("SCHEDULED", "SCHEDULED")]
    [InlineData("FINISHED", "FINISHED")]
    [InlineData("FAILED", "FAILED")]
    [InlineData("KILLED", "KILLED")]
    [InlineData("1", "RUNNING")]
    [InlineData("2", "SCHEDULED")]
    [InlineData("3", "FINISHED")]
    [InlineData("4", "FAILED")]
    [InlineData("5", "KILLED")]
    public void ParsesProtoNamesAndNumbers(string value, string expected) => Assert.Equal(expected, RunStatus.Parse(value));

    [Theory]
    [InlineData("0")]
    [InlineData("6")]
    [InlineData("-1")]
    [InlineData("100")]
    [InlineData("running")]
    [InlineData("Finished")]
    [InlineData("")]
    [InlineData("RUNNING ")]
    [InlineData("DONE")]
    [InlineData("1.0")]
    public void RejectsEverythingElse(string value) => Assert.Null(RunStatus.Parse(value));

    [Fact]
    public void NamesAreInProtoNumberOrder() =>
        Assert.Equal(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"], RunStatus.Names);
}
