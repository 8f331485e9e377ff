using Tracker.Core;

namespace Tracker.Tests.Unit;

public class EchoTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("short", "short")]
    public void ShortValuesAreEchoedWhole(string? value, string expected) => Assert.Equal(expected, Echo.Truncate(value));

    [Fact]
    public void AValueOfExactlyTheLimitIsWhole() => Assert.Equal(new string('a', 250), Echo.Truncate(new string('a', 250)));

    [Fact]
    public void LongerValuesKeepTheirFirst250Characters() =>
        Assert.Equal(new string('a', 250), Echo.Truncate(new string('a', 5_000_000)));

    [Fact]
    public void ASurrogatePairIsNeverSplit()
    {
        var value = new string('a', 249) + "😀" + new string('b', 10);
        Assert.Equal(new string('a', 249), Echo.Truncate(value));
    }
}
