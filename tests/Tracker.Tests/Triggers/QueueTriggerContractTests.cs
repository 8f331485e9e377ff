using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core;
using Tracker.Core.Storage;
using Tracker.Functions.Triggers;
using Tracker.Tests.Host;

namespace Tracker.Tests.Triggers;

/// <summary>
/// The handler as the Functions host invokes its queue functions (reference §4): the exact payload in, the
/// <c>{Outputs, Logs, ReturnValue}</c> reply out, a failing handler answered non-2xx (so the host retries and finally
/// poisons), and nothing but the host's own kind of call accepted. No storage: the handlers are stand-ins.
/// </summary>
public class QueueTriggerContractTests
{
    private static readonly string[] HostHeaders = ["X-Azure-Functions-InvocationId", "X-Azure-Functions-HostVersion", "User-Agent"];

    /// <summary>The app with test handlers in place of the promotion consumers; without <paramref name="poison"/> the
    /// poison queue has no handler at all.</summary>
    private static WebApplicationFactory<Program> App(IQueueHandler promote, IQueueHandler? poison = null) =>
        new TrackerAppFactory().WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.RemoveAllKeyed<IQueueHandler>(PromoteModelTrigger.Queue);
            services.RemoveAllKeyed<IQueueHandler>(PromoteModelPoisonTrigger.Queue);
            services.AddKeyedSingleton(PromoteModelTrigger.Queue, promote);
            if (poison is not null) services.AddKeyedSingleton(PromoteModelPoisonTrigger.Queue, poison);
        }));

    [Fact]
    public async Task TheHostsQueueInvocationReachesTheHandlerAndGetsTheHostsReply()
    {
        var handler = new RecordingQueueHandler();
        await using var app = App(handler);

        using var response = await InvokeAsync(app, "/PromoteModel", HostInvocationTests.HostPayload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(["Outputs", "Logs", "ReturnValue"], reply.Select(p => p.Key));
        Assert.Empty(reply["Outputs"]!.AsObject());
        Assert.NotEmpty(reply["Logs"]!.AsArray());
        Assert.Null(reply["ReturnValue"]);
        var delivered = Assert.Single(handler.Deliveries);
        Assert.Equal(new QueueMessage("model-promotions", """{"name":"churn","version":"3","stage":"Production"}""", 1,
            "5f3c2a9e-7d1b-4c2e-9a51-0b6f1e2d3c4a"), delivered);
    }

    [Fact]
    public async Task ThePoisonFunctionCallsThePoisonQueuesHandler()
    {
        var promote = new RecordingQueueHandler();
        var poison = new RecordingQueueHandler();
        await using var app = App(promote, poison);

        using var response = await InvokeAsync(app, "/PromoteModelPoison", HostInvocationTests.HostPayload.Replace("\"DequeueCount\": \"1\"", "\"DequeueCount\": \"2\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(promote.Deliveries);
        var delivered = Assert.Single(poison.Deliveries);
        Assert.Equal(("model-promotions-poison", 2L), (delivered.Queue, delivered.DequeueCount));
    }

    [Fact]
    public async Task AFailingHandlerIsANon2xxHostReplyNotAnMlflowError()
    {
        // An MlflowException would be a 400 RESOURCE_DOES_NOT_EXIST on an API route; a trigger reports failure to the host.
        var handler = new RecordingQueueHandler { FailuresBeforeSuccess = int.MaxValue, Failure = MlflowException.InvalidParameter("bad promotion") };
        await using var app = App(handler);

        using var response = await InvokeAsync(app, "/PromoteModel", HostInvocationTests.HostPayload);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Null(reply["error_code"]);
        Assert.Contains("bad promotion", reply["Logs"]![0]!.GetValue<string>());
        Assert.Single(handler.Deliveries);
    }

    [Fact]
    public async Task AQueueWithoutARegisteredHandlerFailsSoTheMessageIsKept()
    {
        await using var app = App(new RecordingQueueHandler());
        using var response = await InvokeAsync(app, "/PromoteModelPoison", HostInvocationTests.HostPayload);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("""{ "Data": { "msg": "\"{}\"" }, "Metadata": { "DequeueCount": "x" } }""")]
    public async Task AMalformedInvocationIsA400WithoutCallingTheHandler(string body)
    {
        var handler = new RecordingQueueHandler();
        await using var app = App(handler);

        using var response = await InvokeAsync(app, "/PromoteModel", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["Logs"]);
        Assert.Empty(handler.Deliveries);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("X-Forwarded-Host", "tracker.example.com")]
    [InlineData("Forwarded", "for=203.0.113.7")]
    public async Task ARequestRelayedByAProxyIsNotAHostInvocation(string header, string value)
    {
        var handler = new RecordingQueueHandler();
        await using var app = App(handler);

        using var response = await InvokeAsync(app, "/PromoteModel", HostInvocationTests.HostPayload, (header, value));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(handler.Deliveries);
    }

    [Fact]
    public async Task OnlyPostIsATriggerInvocation()
    {
        var handler = new RecordingQueueHandler();
        await using var app = App(handler);
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/PromoteModel");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Empty(handler.Deliveries);
    }

    private static async Task<HttpResponseMessage> InvokeAsync(WebApplicationFactory<Program> app, string path, string body, (string Name, string Value)? extra = null)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Host = "127.0.0.1:40123";
        request.Headers.Add(HostHeaders[0], Guid.NewGuid().ToString());
        request.Headers.Add(HostHeaders[1], "4.1040.0");
        request.Headers.TryAddWithoutValidation(HostHeaders[2], "Azure-Functions-Host/4.1040.0");
        if (extra is { } header) request.Headers.TryAddWithoutValidation(header.Name, header.Value);
        return await client.SendAsync(request);
    }
}
