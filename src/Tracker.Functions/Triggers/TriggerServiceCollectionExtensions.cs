namespace Tracker.Functions.Triggers;

public static class TriggerServiceCollectionExtensions
{
    /// <summary>
    /// The local queue poller and timer, when <see cref="TriggerOptions.LocalPolling"/> asks for them and no Functions
    /// host is there (FUNCTIONS_CUSTOMHANDLER_PORT unset): under the host the queue and timer triggers arrive as
    /// invocations instead. Handlers are registered by their features as keyed
    /// <see cref="Tracker.Core.Storage.IQueueHandler"/>s and <see cref="Tracker.Core.Storage.ITimerHandler"/>s.
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
            services.AddSingleton<LocalTimer>();
            // Not AddHostedService: it adds a factory only once per returned type, and the poller's is BackgroundService too.
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TriggerOptions>>().Value.LocalPolling
                ? sp.GetRequiredService<LocalTimer>()
                : new NothingToPoll());
        }
        return services;
    }

    /// <summary>Stands in for the poller or the timer when local polling is off, so the decision can follow configuration.</summary>
    private sealed class NothingToPoll : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }
}
