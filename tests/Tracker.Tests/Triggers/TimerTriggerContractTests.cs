using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tracker.Core.Storage;
using Tracker.Functions.Triggers;
using Tracker.Tests.Host;

namespace Tracker.Tests.Triggers;

/// <summary>
/// The handler as the Functions host invokes its timer function (reference §4): the exact TimerInfo payloads in — as an
/// object and as doubly-encoded JSON text, with and without schedule status, past due — the
/// <c>{Outputs, Logs, ReturnValue}</c> reply out, a failing run answered non-2xx, and nothing but the host's own kind of
/// call accepted. No storage: the handler is a stand-in.
/// </summary>
public class TimerTriggerContractTests
{
    /// <summary>The reference's timer example, byte for byte.</summary>
    public const string HostPayload = """
        { "Data": { "timer": { "Schedule": { "AdjustForDST": true }, "IsPastDue": false,
            "ScheduleStatus": { "Last": "2025-11-13T03:00:00.0012Z", "Next": "2025-11-14T03:00:00Z", "LastUpdated": "2025-11-13T03:00:00.0012Z" } } },
          "Metadata": { "sys": { "MethodName": "Cleanup", "UtcNow": "2025-11-13T03:00:00.0151Z", "RandGuid": "4e773554-f6b7-4ea2-b07d-4c5fd5aba741" } } }
        """;

    /// <summary>The same TimerInfo serialized to text and quoted again by the host, with no schedule monitor (null
    /// ScheduleStatus) and a run that is late.</summary>
    public const string DoublyEncodedPastDuePayload = """
        { "Data": { "timer": "\"{\\\"Schedule\\\":{\\\"AdjustForDST\\\":true},\\\"ScheduleStatus\\\":null,\\\"IsPastDue\\\":true}\"" },
          "Metadata": { "sys": { "MethodName": "Cleanup", "UtcNow": "2025-11-13T03:04:05.5Z", "RandGuid": "4e773554-f6b7-4ea2-b07d-4c5fd5aba741" } } }
        """;

    private static readonly TimerTrigger Trigger = CleanupTrigger.Definition;

    [Fact]
    public void TheHostsTimerObjectYieldsTheTick()
    {
        var tick = HostInvocation.ParseTimerTick(JsonNode.Parse(HostPayload), Trigger, TimeProvider.System);

        Assert.Equal(new TimerTick(DateTimeOffset.Parse("2025-11-13T03:00:00.0151Z"), false,
            DateTimeOffset.Parse("2025-11-13T03:00:00.0012Z"), DateTimeOffset.Parse("2025-11-14T03:00:00Z")), tick);
    }

    [Fact]
    public void ADoublyEncodedTimerWithoutScheduleStatusAndPastDueIsReadToo()
    {
        var tick = HostInvocation.ParseTimerTick(JsonNode.Parse(DoublyEncodedPastDuePayload), Trigger, TimeProvider.System);

        Assert.Equal(new TimerTick(DateTimeOffset.Parse("2025-11-13T03:04:05.5Z"), true, null, null), tick);
    }

    [Fact]
    public void WithoutSysUtcNowTheServersClockStandsIn()
    {
        var clock = new Infrastructure.ManualTime(DateTimeOffset.Parse("2026-01-02T03:04:05Z"));
        var tick = HostInvocation.ParseTimerTick(JsonNode.Parse("""{ "Data": { "timer": { "IsPastDue": false } } }"""), Trigger, clock);
        Assert.Equal(clock.GetUtcNow(), tick.UtcNow);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{ "Data": { "msg": "\"{}\"" } }""")]
    [InlineData("""{ "Data": { "timer": "\"not json\"" } }""")]
    [InlineData("""{ "Data": { "timer": { "IsPastDue": "perhaps" } } }""")]
    [InlineData("""{ "Data": { "timer": { "ScheduleStatus": { "Last": "yesterday" } } } }""")]
    [InlineData("""{ "Data": { "timer": {} }, "Metadata": { "sys": { "UtcNow": 5 } } }""")]
    public void APayloadThatIsNotATimerInvocationIsRefused(string body) =>
        Assert.Throws<FormatException>(() => HostInvocation.ParseTimerTick(JsonNode.Parse(body), Trigger, TimeProvider.System));

    private static WebApplicationFactory<Program> App(ITimerHandler handler) =>
        new TrackerAppFactory().WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.RemoveAllKeyed<ITimerHandler>(CleanupTrigger.FunctionName);
            services.AddKeyedSingleton(CleanupTrigger.FunctionName, handler);
        }));

    [Theory]
    [InlineData(HostPayload, false)]
    [InlineData(DoublyEncodedPastDuePayload, true)]
    public async Task TheHostsTimerInvocationReachesTheHandlerAndGetsTheHostsReply(string payload, bool pastDue)
    {
        var handler = new RecordingTimerHandler();
        await using var app = App(handler);

        using var response = await InvokeAsync(app, payload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(["Outputs", "Logs", "ReturnValue"], reply.Select(p => p.Key));
        Assert.Empty(reply["Outputs"]!.AsObject());
        Assert.NotEmpty(reply["Logs"]!.AsArray());
        Assert.Null(reply["ReturnValue"]);
        Assert.Equal(pastDue, Assert.Single(handler.Ticks).IsPastDue);
    }

    [Fact]
    public async Task AFailingRunIsANon2xxHostReply()
    {
        var handler = new RecordingTimerHandler { Fail = true };
        await using var app = App(handler);

        using var response = await InvokeAsync(app, HostPayload);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Null(reply["error_code"]);
        Assert.Contains("the cleanup failed", reply["Logs"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task AMalformedTimerInvocationIsA400WithoutCallingTheHandler()
    {
        var handler = new RecordingTimerHandler();
        await using var app = App(handler);

        using var response = await InvokeAsync(app, """{ "Data": {} }""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["Logs"]);
        Assert.Empty(handler.Ticks);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("X-Forwarded-Host", "tracker.example.com")]
    [InlineData("Forwarded", "for=203.0.113.7")]
    public async Task ARequestRelayedByAProxyIsNotAHostInvocation(string header, string value)
    {
        var handler = new RecordingTimerHandler();
        await using var app = App(handler);

        using var response = await InvokeAsync(app, HostPayload, (header, value));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(handler.Ticks);
    }

    [Fact]
    public async Task ACallerThatIsNotOnLoopbackIsRefused()
    {
        var handler = new RecordingTimerHandler();
        await using var app = App(handler).WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new RemoteAddress(IPAddress.Parse("203.0.113.7")))));

        using var response = await InvokeAsync(app, HostPayload);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(handler.Ticks);
    }

    /// <summary>Makes every request look as if it came from <paramref name="address"/> (the test server has no network peer).</summary>
    private sealed class RemoteAddress(IPAddress address) : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            app.Use(nextMiddleware => context =>
            {
                context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private static async Task<HttpResponseMessage> InvokeAsync(WebApplicationFactory<Program> app, string body, (string Name, string Value)? extra = null)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/Cleanup") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Host = "127.0.0.1:40123";
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", "4.1040.0");
        request.Headers.TryAddWithoutValidation("User-Agent", "Azure-Functions-Host/4.1040.0");
        if (extra is { } header) request.Headers.TryAddWithoutValidation(header.Name, header.Value);
        return await client.SendAsync(request);
    }
}
