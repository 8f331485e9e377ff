using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Storage;

namespace Tracker.Core.Webhooks;

public static class WebhookServiceCollectionExtensions
{
    /// <summary>Webhooks: the store, the publisher registry writes call, and the WebhookDelivery queue's handler.</summary>
    public static IServiceCollection AddTrackerWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section)
            .Validate(o => o.IsValid(), $"Invalid {WebhookOptions.Section} settings: MaxAttempts 1-20, RequestTimeout positive and at most 1 minute.")
            .ValidateOnStart();
        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebhookPublisher>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookService>();
        services.AddSingleton<WebhookDeliveries>();
        services.AddKeyedSingleton<IQueueHandler>(WebhookPublisher.QueueName,
            (sp, _) => new DelegateQueueHandler(sp.GetRequiredService<WebhookDeliveries>().HandleAsync));
        return services;
    }
}
