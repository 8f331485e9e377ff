using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tracker.Core.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Azure clients built once: identity-based in Azure, connection string only for Azurite (STYLE.md §7). Nothing
    /// here talks to storage; the store creates its tables on first use, after Kestrel already answers.
    /// </summary>
    public static IServiceCollection AddTrackerStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .Validate(o => o.IsValid(out _), $"Invalid {StorageOptions.Section} settings: set ConnectionString (Azurite) or the service URIs (Azure).")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var clientOptions = new TableClientOptions();
            Configure(clientOptions);
            return string.IsNullOrWhiteSpace(options.ConnectionString)
                ? new TableServiceClient(options.TableServiceUri, Credential(options), clientOptions)
                : new TableServiceClient(options.ConnectionString, clientOptions);
        });
        services.AddSingleton<TrackingStore>();
        return services;
    }

    private static void Configure(ClientOptions options)
    {
        options.AddPolicy(new StorageRequestCounter(), HttpPipelinePosition.PerRetry);
        // HTTP triggers are cut at 230 s; a storage call that hangs must fail well before, as a retryable 503.
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        options.Retry.MaxRetries = 3;
        options.Diagnostics.IsLoggingContentEnabled = false;
    }

    private static TokenCredential Credential(StorageOptions options) =>
        string.IsNullOrWhiteSpace(options.ClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ClientId));
}
