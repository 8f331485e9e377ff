using Tracker.Core.Storage;

namespace Tracker.Tests.Unit.Auth;

public sealed class TableKeysTests
{
    [Theory]
    [InlineData("plain name", "plain name")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("a\\b#c?d", "a%5Cb%23c%3Fd")]
    [InlineData("100%", "100%25")]
    [InlineData("tab\there", "tab%09here")]
    [InlineData("del\u007fc1\u0085", "del%7Fc1%85")]
    public void ForbiddenCharactersAndTheEscapeItselfAreEscaped(string value, string key) => Assert.Equal(key, TableKeys.Escape(value));

    [Fact]
    public void DistinctValuesNeverShareAKey()
    {
        string[] values = ["a/b", "a%2Fb", "a%252Fb", "a?b", "a%3Fb", new string('x', 300), new string('x', 301), "%%"];
        var keys = values.Select(TableKeys.Escape).ToList();
        Assert.Equal(values.Length, keys.Distinct().Count());
    }

    [Fact]
    public void LongValuesBecomeAFixedSizeHashThatNoEscapedValueCanSpell()
    {
        var key = TableKeys.Escape(new string('/', 200));
        Assert.StartsWith("%%", key);
        Assert.True(key.Length <= TableKeys.MaxEscapedLength);
        Assert.DoesNotContain(key, c => c is '/' or '\\' or '#' or '?' || char.IsControl(c));
        // An escaped value only has '%' before two hex digits, so it never starts with "%%".
        Assert.False(TableKeys.Escape(key).StartsWith("%%"));
    }
}
