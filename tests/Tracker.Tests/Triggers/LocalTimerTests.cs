using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tracker.Core.Storage;
using Tracker.Functions.Triggers;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Triggers;

/// <summary>
/// Local mode's timer: with local polling on it fires the cleanup schedule (here every second) and calls the timer's
/// handler, the real one included, whose summary rows then read back through the admin route; a schedule that is not
/// six-field NCRONTAB stops start-up.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LocalTimerTests(AzuriteFixture azurite)
{
    private TrackerApp App(string schedule) => new(azurite, settings: new Dictionary<string, string>
    {
        ["Tracker:Storage:QueuePrefix"] = "t" + Guid.NewGuid().ToString("N")[..10] + "-",
        ["Tracker:Triggers:LocalPolling"] = "true",
        ["Tracker:Lifecycle:CleanupSchedule"] = schedule,
    });

    [Fact]
    public async Task TheLocalTimerFiresTheScheduleAndCallsTheTimersHandler()
    {
        var handler = new RecordingTimerHandler();
        await using var app = App("* * * * * *");
        await using var configured = app.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.RemoveAllKeyed<ITimerHandler>(CleanupTrigger.FunctionName);
            services.AddKeyedSingleton<ITimerHandler>(CleanupTrigger.FunctionName, handler);
        }));
        _ = configured.Services; // starts the host, and with it the timer

        await handler.WaitForAsync(2);

        var ticks = handler.Ticks.ToArray();
        Assert.All(ticks, t => Assert.False(t.IsPastDue));
        Assert.True(ticks[1].UtcNow > ticks[0].UtcNow);
        Assert.NotNull(ticks[0].Next); // the schedule's next occurrence, as the host's ScheduleStatus gives it
        Assert.NotNull(ticks[1].Last);
    }

    [Fact]
    public async Task TheRealCleanupRunsLocallyAndItsRowsAreReadable()
    {
        await using var app = App("* * * * * *");
        _ = app.Services;

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        System.Text.Json.Nodes.JsonArray? runs = null;
        while (runs is not { Count: > 0 } || runs[0]!["end_time"] is null)
        {
            await Task.Delay(200, timeout.Token);
            var (status, body) = await app.GetAsync("/api/2.0/tracker/cleanup/runs?max_results=5");
            Assert.Equal(200, status);
            runs = body?["runs"] as System.Text.Json.Nodes.JsonArray;
        }
        var run = runs[0]!;
        Assert.False((bool)run["is_past_due"]!);
        Assert.Null(run["error"]);
        Assert.Equal(0, (int)run["enqueued"]!["expire_artifacts"]!);
    }

    [Theory]
    [InlineData("0 3 * * *")]       // five-field Unix cron
    [InlineData("0 0 25 * * *")]    // no hour 25
    [InlineData("")]
    public async Task AScheduleThatIsNotSixFieldNcrontabStopsStartUp(string schedule)
    {
        var error = await StartUpCheck.RefusalAsync(new Dictionary<string, string?>
        {
            ["Tracker:Storage:ConnectionString"] = azurite.ConnectionString,
            ["Tracker:Lifecycle:CleanupSchedule"] = schedule,
        }, services => services.AddTrackerStorage());
        Assert.Contains("Tracker:Lifecycle", error.Message);
    }
}
