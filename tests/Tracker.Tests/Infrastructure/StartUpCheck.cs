using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Tracker.Tests.Infrastructure;

/// <summary>
/// What start-up refuses: a host built with the app's own registrations and the given settings, then started, as
/// <c>app.Run()</c> starts Tracker's. WebApplicationFactory cannot show this reliably: when the app's host fails to
/// start, <c>app.Run()</c> disposes it, and the factory, still waiting for "started", may then touch the disposed
/// provider and throw ObjectDisposedException in place of the refusal (it did, once in CI).
/// </summary>
public static class StartUpCheck
{
    public static async Task<OptionsValidationException> RefusalAsync(IReadOnlyDictionary<string, string?> settings,
        Action<IServiceCollection> register)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(settings: null);
        builder.Configuration.AddInMemoryCollection(settings);
        register(builder.Services);
        using var host = builder.Build();
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }
}
