using Tracker.Core.Auth;

namespace Tracker.Tests.Unit.Auth;

public sealed class TrackerTokenTests
{
    [Fact]
    public void ANewTokenParsesBackToItsIdAndSecret()
    {
        var (id, secret, text) = TrackerToken.New();
        Assert.Matches("^trk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$", text);
        Assert.True(TrackerToken.TryParse(text, out var parsedId, out var parsedSecret));
        Assert.Equal(id, parsedId);
        Assert.Equal(secret, parsedSecret);
        Assert.Equal(32, secret.Length);
        Assert.NotEqual(text, TrackerToken.New().Text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("trk_")]
    [InlineData("trk_abc")]
    [InlineData("xyz_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("trk_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // id is lower case
    [InlineData("trk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // secret one short
    [InlineData("trk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // one long
    [InlineData("trk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("trk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("trk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")] // non-canonical last character
    public void MalformedTokensDoNotParse(string text) => Assert.False(TrackerToken.TryParse(text, out _, out _));
}
