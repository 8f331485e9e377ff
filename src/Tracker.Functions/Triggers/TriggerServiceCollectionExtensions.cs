namespace Tracker.Functions.Triggers;

public static class TriggerServiceCollectionExtensions
{
    /// <summary>
    /// The local queue poller, when <see cref="TriggerOptions.LocalPolling"/> asks for it and no Functions host is
    /// there (FUNCTIONS_CUSTOMHANDLER_PORT unset): under the host the queue triggers arrive as invocations instead.
    /// Queue handlers are registered by their features as keyed <see cref="Tracker.Core.Storage.IQueueHandler"/>s.
    /// </summary>
    public static IServiceCollection AddTrackerTriggers(this IServiceCollection services)
    {
        services.AddOptions<TriggerOptions>().BindConfiguration(TriggerOptions.Section)
            .Validate(o => o.IsValid(), $"Invalid {TriggerOptions.Section} settings.")
            .ValidateOnStart();
        var underHost = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT"));
        if (!underHost)
        {
            services.AddSingleton<LocalQueuePoller>();
            services.AddHostedService<BackgroundService>(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TriggerOptions>>().Value.LocalPolling
                ? sp.GetRequiredService<LocalQueuePoller>()
                : new NothingToPoll());
        }
        return services;
    }

    /// <summary>Stands in for the poller when local polling is off, so the decision can follow configuration.</summary>
    private sealed class NothingToPoll : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }
}
