using Tracker.Core;
using Tracker.Core.Registry;

namespace Tracker.Tests.Unit.Registry;

public sealed class RegistryNamesTests
{
    [Theory]
    [InlineData("foo")]
    [InlineData("José")] // precomposed é: already NFC
    [InlineData("my model v2")]
    [InlineData("team/model:prod")] // MLflow's SQL store accepts '/' and ':'
    [InlineData("山田")]
    public void OrdinaryNamesAreKeptAsGiven(string name) => Assert.Equal(name, RegistryNames.Canonical(name));

    [Theory]
    [InlineData("foo ")]
    [InlineData(" foo")]
    [InlineData("fo\u200bo")] // zero-width space
    [InlineData("foo\u200d")] // zero-width joiner
    [InlineData("Jose\u0301")] // NFD é: displays as the precomposed "José"
    [InlineData("f\u00a0oo")] // no-break space
    [InlineData("\u212bngstr\u00f6m")] // ANGSTROM SIGN, which NFC turns into Å
    public void NamesThatCouldDisplayLikeAnotherAreRefused(string name)
    {
        var e = Assert.Throws<MlflowException>(() => RegistryNames.Canonical(name));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
        Assert.StartsWith("Invalid registered model name '", e.Message);
        Assert.Null(RegistryNames.TryCanonical(name));
    }

    [Theory]
    [InlineData(null, "name")]
    [InlineData("", "new_name")]
    public void AMissingNameNamesItsParameter(string? name, string parameter)
    {
        var e = Assert.Throws<MlflowException>(() => RegistryNames.Canonical(name, parameter));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
        Assert.StartsWith($"Missing value for required parameter '{parameter}'.", e.Message);
    }

    [Fact]
    public void ANameLongerThanMlflowsColumnIsRefused()
    {
        Assert.Equal(new string('a', RegistryNames.MaxLength), RegistryNames.Canonical(new string('a', RegistryNames.MaxLength)));
        Assert.Throws<MlflowException>(() => RegistryNames.Canonical(new string('a', RegistryNames.MaxLength + 1)));
    }
}
