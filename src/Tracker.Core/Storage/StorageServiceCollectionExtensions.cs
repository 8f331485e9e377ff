using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Tracker.Core.Promotions;
using Tracker.Core.Artifacts;
using Tracker.Core.Registry;
using Tracker.Core.Webhooks;
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
        services.AddOptions<ArtifactOptions>()
            .BindConfiguration(ArtifactOptions.Section)
            .Validate(o => o.IsValid(), $"Invalid {ArtifactOptions.Section} settings: URL lifetimes must be positive and at most 2 hours.")
            .ValidateOnStart();
        services.AddOptions<Lifecycle.LifecycleOptions>()
            .BindConfiguration(Lifecycle.LifecycleOptions.Section)
            .Validate(o => o.IsValid(), $"Invalid {Lifecycle.LifecycleOptions.Section} settings.")
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StorageClock>();
        services.AddSingleton<TokenCredential>(sp => Credential(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var clientOptions = new TableClientOptions();
            Configure(clientOptions, TimeSpan.FromSeconds(10));
            // Storage's clock, as the change feed keys its rows (ChangeFeed): learnt from every table answer.
            clientOptions.AddPolicy(sp.GetRequiredService<StorageClock>(), HttpPipelinePosition.PerRetry);
            clientOptions.AddPolicy(new KeysOnlyQueries(), HttpPipelinePosition.PerCall);
            return UsesConnectionString(options)
                ? new TableServiceClient(options.ConnectionString, clientOptions)
                : new TableServiceClient(options.TableServiceUri, sp.GetRequiredService<TokenCredential>(), clientOptions);
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var clientOptions = new BlobClientOptions();
            Configure(clientOptions, TimeSpan.FromSeconds(20));
            return UsesConnectionString(options)
                ? new BlobServiceClient(options.ConnectionString, clientOptions)
                : new BlobServiceClient(options.BlobServiceUri, sp.GetRequiredService<TokenCredential>(), clientOptions);
        });
        // Base64, the host's default messageEncoding (host.json): what a producer enqueues is what a trigger reads.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var clientOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
            Configure(clientOptions, TimeSpan.FromSeconds(10));
            if (UsesConnectionString(options)) return new QueueServiceClient(options.ConnectionString, clientOptions);
            return new QueueServiceClient(options.QueueServiceUri ?? throw new InvalidOperationException(
                $"Set {StorageOptions.Section}:QueueServiceUri: queues are used."), sp.GetRequiredService<TokenCredential>(), clientOptions);
        });
        // The one swappable piece of SAS: the account key against Azurite, a user delegation key in Azure.
        services.AddSingleton<IBlobSasSigner>(sp => UsesConnectionString(sp.GetRequiredService<IOptions<StorageOptions>>().Value)
            ? new AccountKeySasSigner()
            : new UserDelegationSasSigner(sp.GetRequiredService<BlobServiceClient>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<TrackingStore>();
        services.AddSingleton<Registry.RegistryStore>(); // creates its table on first use, like the tracking store
        services.AddSingleton<StorageHealthCheck>();
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage");
        services.AddSingleton<ArtifactStore>();
        services.AddSingleton<ModelVersionSources>();
        services.AddSingleton<PromotionStore>();
        services.AddSingleton<PromotionService>();
        // What the PromoteModel and PromoteModelPoison triggers (or the local poller) hand their messages to.
        services.AddKeyedSingleton<IQueueHandler>(PromotionService.QueueName,
            (sp, _) => new DelegateQueueHandler(sp.GetRequiredService<PromotionService>().ProcessAsync));
        services.AddKeyedSingleton<IQueueHandler>(PromotionService.PoisonQueueName,
            (sp, _) => new DelegateQueueHandler(sp.GetRequiredService<PromotionService>().RecordPoisonAsync));
        services.AddTrackerWebhooks();
        services.AddSingleton<Lifecycle.LifecycleQueue>();
        services.AddSingleton<Lifecycle.LifecycleBlobs>();
        services.AddSingleton<Lifecycle.RunPurge>();
        services.AddSingleton<Lifecycle.ExperimentPurge>();
        services.AddSingleton<Lifecycle.VersionTiering>();
        services.AddSingleton<Lifecycle.ArtifactExpiry>();
        services.AddSingleton<Lifecycle.LifecycleService>();
        services.AddKeyedSingleton<IQueueHandler>(Lifecycle.LifecycleQueue.QueueName,
            (sp, _) => new DelegateQueueHandler(sp.GetRequiredService<Lifecycle.LifecycleService>().HandleAsync));
        // What the Cleanup timer (or the local timer) fires.
        services.AddSingleton<Lifecycle.CleanupStore>();
        services.AddSingleton<Lifecycle.CleanupService>();
        services.AddKeyedSingleton<ITimerHandler>(Lifecycle.CleanupService.TimerFunctionName,
            (sp, _) => new DelegateTimerHandler(sp.GetRequiredService<Lifecycle.CleanupService>().RunAsync));
        return services;
    }

    private static bool UsesConnectionString(StorageOptions options) => !string.IsNullOrWhiteSpace(options.ConnectionString);

    /// <param name="networkTimeout">One try's limit without an answer. A stall then costs at most three tries plus
    /// backoff: tables 10 s each (metadata, and the tracking store's RequestTimeout bounds the total anyway), blobs
    /// 20 s each (a 4 MiB block must get through), both well below the MLflow client's 120 s.</param>
    private static void Configure(ClientOptions options, TimeSpan networkTimeout)
    {
        options.AddPolicy(new StorageRequestCounter(), HttpPipelinePosition.PerRetry);
        options.Retry.NetworkTimeout = networkTimeout;
        options.Retry.MaxRetries = 2;
        options.Diagnostics.IsLoggingContentEnabled = false;
    }

    private static TokenCredential Credential(StorageOptions options) =>
        string.IsNullOrWhiteSpace(options.ClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ClientId));
}
