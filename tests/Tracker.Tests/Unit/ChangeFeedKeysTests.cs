using Azure.Data.Tables;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

/// <summary>The change feed's keys (<see cref="ChangeFeed"/>): one row per run and second, and what a reader remembers
/// of a row it applied, for rows written today and before rows were coalesced.</summary>
public sealed class ChangeFeedKeysTests
{
    private const string RunId = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 7, 250, TimeSpan.Zero);

    [Fact]
    public void AWriteSetsItsRunsRowOfThatSecondUnderANewWriteId()
    {
        var first = ChangeFeed.Row("7", RunId, At);
        var again = ChangeFeed.Row("7", RunId, At.AddMilliseconds(700));
        var next = ChangeFeed.Row("7", RunId, At.AddMilliseconds(750));

        Assert.Equal(first.RowKey, again.RowKey);
        Assert.NotEqual(ChangeFeed.Identity(first), ChangeFeed.Identity(again));
        Assert.NotEqual(first.RowKey, next.RowKey);
        Assert.Equal((new DateTimeOffset(2026, 12, 1, 12, 0, 7, TimeSpan.Zero), RunId), ChangeFeed.Parse(first.RowKey));
        Assert.Equal(ChangeFeed.Parse(first.RowKey), ChangeFeed.Parse(ChangeFeed.Identity(first)));
        Assert.True(string.CompareOrdinal(first.RowKey, ChangeFeed.KeyAt(At.AddMilliseconds(-250))) >= 0);
    }

    [Fact]
    public void ARowWrittenBeforeRowsWereCoalescedIsItsOwnIdentity()
    {
        var old = new TableEntity("7", $"{ChangeFeed.KeyAt(At)}:{RunId}:a1b2c3d4");

        Assert.Equal(old.RowKey, ChangeFeed.Identity(old));
        Assert.Equal((At, RunId), ChangeFeed.Parse(old.RowKey));
    }

    [Theory]
    [InlineData("r:0123456789abcdef0123456789abcdef")]
    [InlineData("c:0639317244825295550:0123456789abcdef0123456789abcde")]
    [InlineData("c:063931724482529555x:0123456789abcdef0123456789abcdef")]
    [InlineData("c:0639317244825295550:0123456789abcdef0123456789abcdef:a1b2")]
    public void WhatIsNotAChangeRowsKeyParsesAsNothing(string key) => Assert.Null(ChangeFeed.Parse(key));
}
