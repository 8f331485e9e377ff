namespace Tracker.Functions.Telemetry;

/// <summary>
/// OpenTelemetry traces, metrics and logs for requests and storage calls (eShop's ServiceDefaults, in one call), built
/// once the instance has answered its first request (<see cref="TelemetryPipeline"/>): a cold start does not wait for it.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The Azure SDK emits its spans through ActivitySource only when this switch is on. It is read when the
    /// SDK's clients are built, so it is set now, before the pipeline that listens exists.</summary>
    private const string AzureActivitySourceSwitch = "Azure.Experimental.EnableActivitySource";

    public static WebApplicationBuilder AddTrackerTelemetry(this WebApplicationBuilder builder)
    {
        var options = TelemetryOptions.From(builder.Configuration);
        if (!options.AnyExporter)
            return builder;

        AppContext.SetSwitch(AzureActivitySourceSwitch, true);
        // Nothing here may touch an OpenTelemetry type: loading and setting up the SDK is what the deferral saves.
        builder.Services.AddSingleton(sp => new TelemetryPipeline(options, sp));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TelemetryPipeline>());
        builder.Services.AddTransient<IStartupFilter, TelemetryPipeline.RequestHooks>();
        builder.Logging.Services.AddSingleton<ILoggerProvider>(sp => sp.GetRequiredService<TelemetryPipeline>().Logs);
        // ASP.NET Core's "Request starting …" lines carry the query string (function keys, SAS signatures): never export them.
        builder.Logging.AddFilter<DeferredLoggerProvider>("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        return builder;
    }
}
