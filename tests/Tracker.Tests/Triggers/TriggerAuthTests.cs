using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Storage;
using Tracker.Functions.Auth;
using Tracker.Functions.Triggers;
using Tracker.Tests.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Triggers;

/// <summary>
/// With auth on, the host's invocations carry no user credential and must still get through: they are outside user
/// authentication, and outside the sign-in throttle, which under the host would otherwise count other clients'
/// failures (those without X-Forwarded-For) against the address the host's own calls come from.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TriggerAuthTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AHostInvocationNeedsNoCredentialAndIsNeverThrottled()
    {
        var handler = new RecordingQueueHandler();
        await using var app = new AuthedApp(azurite, services: s => s.AddKeyedSingleton<IQueueHandler>(PromoteModelTrigger.Queue, handler));

        // Failed sign-ins from the same client address as the host's invocations (no X-Forwarded-For) until refused.
        for (var i = 0; i < SignInThrottle.MaxFailures; i++)
        {
            using var bad = await app.SendAsync(HttpMethod.Get, AuthedApp.Api + "experiments/search", AuthedApp.Bearer("not-a-token"),
                configure: r => r.Headers.Remove("X-Forwarded-For"));
        }
        using (var refused = await app.SendAsync(HttpMethod.Get, AuthedApp.Api + "experiments/search", null, configure: r => r.Headers.Remove("X-Forwarded-For")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode); // the throttle did trip for that address
        }

        using var response = await app.SendAsync(HttpMethod.Post, "/PromoteModel", null, configure: r =>
        {
            r.Headers.Remove("X-Forwarded-For");
            r.Content = new StringContent(HostInvocationTests.HostPayload, Encoding.UTF8, "application/json");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(handler.Deliveries);
    }
}
