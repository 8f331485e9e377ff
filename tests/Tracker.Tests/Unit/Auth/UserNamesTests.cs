using Tracker.Core;
using Tracker.Core.Auth;

namespace Tracker.Tests.Unit.Auth;

public sealed class UserNamesTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("alice@contoso.com")]
    [InlineData("first last")]
    [InlineData("José")] // precomposed é: already NFC
    [InlineData("山田")]
    [InlineData("a/b#c?d\\e%f")]
    public void OrdinaryNamesAreKeptAsGiven(string name) => Assert.Equal(name, UserNames.Canonical(name));

    [Theory]
    [InlineData("")]
    [InlineData(" alice")]
    [InlineData("alice ")]
    [InlineData("alice\t")]
    [InlineData("\u00a0alice")]
    [InlineData("al\u00a0ice")] // a no-break space displays as a space
    [InlineData("al\nice")]
    [InlineData("al\u0000ice")]
    [InlineData("al\u200bice")] // zero-width space
    [InlineData("al\u202eice")] // right-to-left override
    [InlineData("Jose\u0301")] // NFD é: the same name as the precomposed one
    [InlineData("\u212bngstr\u00f6m")] // ANGSTROM SIGN, which NFC turns into Å
    [InlineData("\u1100\u1161")] // conjoining jamo, which NFC composes into 가
    public void NamesThatCouldDisplayLikeAnotherAreRefused(string name)
    {
        var e = Assert.Throws<MlflowException>(() => UserNames.Canonical(name));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
    }

    [Fact]
    public void ALoneSurrogateIsRefused()
    {
        // Built here: xunit's test-case serialisation would turn a lone surrogate into U+FFFD.
        var name = "a" + (char)0xD800 + "b";
        Assert.Equal(ErrorCode.InvalidParameterValue, Assert.Throws<MlflowException>(() => UserNames.Canonical(name)).Code);
    }

    [Fact]
    public void MissingAndOverlongNamesAreRefused()
    {
        Assert.Equal("Username cannot be empty.", Assert.Throws<MlflowException>(() => UserNames.Canonical(null)).Message);
        Assert.Equal(UserNames.MaxLength, UserNames.Canonical(new string('a', UserNames.MaxLength)).Length);
        Assert.Throws<MlflowException>(() => UserNames.Canonical(new string('a', UserNames.MaxLength + 1)));
    }
}
