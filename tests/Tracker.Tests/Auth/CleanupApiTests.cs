using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Lifecycle;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// <c>GET /api/2.0/tracker/cleanup/runs</c> with auth on: the cleanup timer's summary rows, newest first and paged, for
/// admins only (they name experiments across the deployment); everyone else gets MLflow-shaped refusals.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class CleanupApiTests(AzuriteFixture azurite)
{
    private const string Route = "/api/2.0/tracker/cleanup/runs";

    [Fact]
    public async Task AdminsReadTheSummaryRowsNewestFirstAndOthersAreRefused()
    {
        await using var app = new AuthedApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:QueuePrefix"] = "a" + Guid.NewGuid().ToString("N")[..10] + "-",
        });
        var admin = await app.UserAsync("cleanup-admin", admin: true);
        var user = await app.UserAsync("cleanup-user");
        var experiment = await app.CreateExperimentAsync(admin, "retention");
        await app.PostAsync(admin, "experiments/set-experiment-tag",
            new System.Text.Json.Nodes.JsonObject { ["experiment_id"] = experiment, ["key"] = CleanupService.RetentionDaysTag, ["value"] = "0" });
        var cleanup = app.Services.GetRequiredService<CleanupService>();
        await cleanup.RunAsync(new TimerTick(DateTimeOffset.UtcNow, IsPastDue: false), default);
        await cleanup.RunAsync(new TimerTick(DateTimeOffset.UtcNow, IsPastDue: true), default);

        var first = await app.GetAsync(admin, Route + "?max_results=1");
        var newest = first["runs"]!.AsArray().Single()!;
        Assert.True((bool)newest["is_past_due"]!);
        Assert.Equal(1, (int)newest["skipped_count"]!);
        Assert.Contains("'0'", (string)newest["skipped"]![0]!["reason"]!);
        Assert.True((long)newest["end_time"]! >= (long)newest["start_time"]!);
        var second = await app.GetAsync(admin, Route + "?max_results=1&page_token=" + Uri.EscapeDataString((string)first["next_page_token"]!));
        Assert.False((bool)second["runs"]![0]!["is_past_due"]!);
        Assert.Null(second["next_page_token"]);

        var (status, body, _) = await app.StatusAsync(HttpMethod.Get, Route, user);
        Assert.Equal((int)HttpStatusCode.Forbidden, status);
        Assert.Contains("PERMISSION_DENIED", body);
        var (anonymous, _, challenged) = await app.StatusAsync(HttpMethod.Get, Route, null);
        Assert.Equal((int)HttpStatusCode.Unauthorized, anonymous);
        Assert.True(challenged);
        var (bad, badBody, _) = await app.StatusAsync(HttpMethod.Get, Route + "?max_results=0", admin);
        Assert.Equal(400, bad);
        Assert.Contains("INVALID_PARAMETER_VALUE", badBody);
        var (forged, forgedBody, _) = await app.StatusAsync(HttpMethod.Get, Route + "?page_token=AAAA", admin);
        Assert.Equal(400, forged);
        Assert.Contains("INVALID_PARAMETER_VALUE", forgedBody);
    }

    [Fact]
    public async Task TheHostsTimerInvocationRunsTheRealCleanupWithoutAUserCredential()
    {
        await using var app = new AuthedApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:QueuePrefix"] = "h" + Guid.NewGuid().ToString("N")[..10] + "-",
        });
        var admin = await app.UserAsync("cleanup-host-admin", admin: true);

        using var response = await app.SendAsync(HttpMethod.Post, "/Cleanup", null, configure: r =>
        {
            r.Headers.Remove("X-Forwarded-For"); // the host's own call: loopback, no proxy headers
            r.Content = new StringContent(Triggers.TimerTriggerContractTests.DoublyEncodedPastDuePayload, System.Text.Encoding.UTF8, "application/json");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = (await app.GetAsync(admin, Route))["runs"]!.AsArray().Single()!;
        Assert.True((bool)run["is_past_due"]!);
        Assert.NotNull(run["end_time"]);
    }
}
