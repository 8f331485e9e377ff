using Tracker.Core.Search;

namespace Tracker.Tests.Search;

public class SqlLikePatternTests
{
    [Theory]
    [InlineData("abc", "abc", false, true)]
    [InlineData("abc", "abC", false, false)]
    [InlineData("abc", "abC", true, true)]
    [InlineData("ABC", "abc", true, true)]
    [InlineData("abc", "abcd", false, false)]
    [InlineData("abc", "xabc", false, false)]
    [InlineData("a%", "abc", false, true)]
    [InlineData("a%", "a", false, true)]
    [InlineData("a%", "ba", false, false)]
    [InlineData("%c", "abc", false, true)]
    [InlineData("%b%", "abc", false, true)]
    [InlineData("%b%", "ac", false, false)]
    [InlineData("a_c", "abc", false, true)]
    [InlineData("a_c", "ac", false, false)]
    [InlineData("a_c", "abbc", false, false)]
    [InlineData("%", "", false, true)]
    [InlineData("%%", "anything", false, true)]
    [InlineData("", "", false, true)]
    [InlineData("", "a", false, false)]
    [InlineData("_", "", false, false)]
    [InlineData("a%b%c", "aXbYc", false, true)]
    [InlineData("a%b%c", "aXcYb", false, false)]
    [InlineData("%ab", "aab", false, true)]
    [InlineData("%a_c", "abcaxc", false, true)]
    [InlineData("sweep-%", "sweep-1", false, true)]
    [InlineData("SWEEP-_", "Sweep-2", true, true)]
    // Nothing is special but % and _: no regex, no escape character.
    [InlineData("a.c", "abc", false, false)]
    [InlineData("a[bc]", "ab", false, false)]
    [InlineData("a*", "aaa", false, false)]
    [InlineData("100\\%", "100\\ off", false, true)]
    [InlineData("100\\%", "100%", false, false)]
    // _ is one character, also outside the BMP.
    [InlineData("_", "😀", false, true)]
    [InlineData("__", "😀", false, false)]
    [InlineData("%_x", "😀x", false, true)]
    [InlineData("x_", "x😀", false, true)]
    public void MatchesLikeSql(string pattern, string text, bool ignoreCase, bool expected) =>
        Assert.Equal(expected, new SqlLikePattern(pattern, ignoreCase).IsMatch(text));

    [Fact]
    public void PathologicalPatternsFinishWithoutBacktrackingBlowUp()
    {
        // Exponential in a backtracking regex engine; quadratic at worst here.
        var pattern = string.Concat(Enumerable.Repeat("%a", 30)) + "%b";
        var text = new string('a', 8000);

        Assert.False(new SqlLikePattern(pattern, ignoreCase: false).IsMatch(text));
        Assert.True(new SqlLikePattern(pattern, ignoreCase: false).IsMatch(text + "b"));
    }
}
