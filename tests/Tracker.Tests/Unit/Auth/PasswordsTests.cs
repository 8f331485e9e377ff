using Tracker.Core;
using Tracker.Core.Auth;

namespace Tracker.Tests.Unit.Auth;

public sealed class PasswordsTests
{
    [Fact]
    public void AHashVerifiesOnlyItsOwnPasswordAndIsSaltedPerCall()
    {
        var hash = Passwords.Hash("correct horse battery");
        Assert.StartsWith($"pbkdf2-sha256${Passwords.Iterations}$", hash);
        Assert.DoesNotContain("correct horse", hash);
        Assert.True(Passwords.Verify("correct horse battery", hash));
        Assert.False(Passwords.Verify("correct horse batterz", hash));
        Assert.False(Passwords.Verify("", hash));
        Assert.NotEqual(hash, Passwords.Hash("correct horse battery"));
    }

    [Fact]
    public void TheIterationCountIsReadFromTheStoredHash()
    {
        // A hash made with another count (as after a future change of the default) still verifies.
        var older = Passwords.Hash("correct horse battery", iterations: 1000);
        Assert.StartsWith("pbkdf2-sha256$1000$", older);
        Assert.True(Passwords.Verify("correct horse battery", older));
    }

    [Theory]
    [InlineData("")]
    [InlineData("pbkdf2-sha256$x$AAAA$AAAA")]
    [InlineData("pbkdf2-sha256$0$AAAA$AAAA")]
    [InlineData("md5$1$AAAA$AAAA")]
    [InlineData("pbkdf2-sha256$1000$AAAA")]
    public void AMalformedStoredHashVerifiesNothing(string stored) => Assert.False(Passwords.Verify("correct horse battery", stored));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("elevenchars")] // MLflow: len(password) < 12 is refused
    [InlineData("trk_looks_like_a_token")] // Basic would treat it as a token, so it could never sign in
    public void WeakOrAmbiguousPasswordsAreRefused(string? password)
    {
        var e = Assert.Throws<MlflowException>(() => Passwords.Validate(password));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
    }

    [Fact]
    public void TwelveCharactersAreEnough() => Passwords.Validate("twelve chars");
}
