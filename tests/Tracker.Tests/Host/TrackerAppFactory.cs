using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Tracker.Tests.Host;

/// <summary>
/// The handler in-process, configured as far as start-up needs: storage options are validated on start, so a dummy
/// Azurite connection string is set. Nothing connects to it unless a request reaches an endpoint that uses storage,
/// and the host-contract tests send no such request.
/// </summary>
public class TrackerAppFactory : WebApplicationFactory<Program>
{
    public const string DummyConnectionString = "UseDevelopmentStorage=true";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Tracker:Storage:ConnectionString", DummyConnectionString);
        // The contract with the host, not auth (AuthTests): as a local Tracker runs.
        builder.UseSetting("Tracker:Auth:Disabled", "true");
    }
}
