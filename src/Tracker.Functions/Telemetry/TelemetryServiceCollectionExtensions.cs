using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Tracker.Functions.Telemetry;

/// <summary>
/// OpenTelemetry traces, metrics and logs for requests and storage calls (eShop's ServiceDefaults, in one call).
/// Requests come from ASP.NET Core, storage calls from the Azure SDK's own spans and from HttpClient's metrics (the SDK
/// sends through HttpClient), so Tracker adds no spans of its own yet.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    public const string ServiceName = "tracker";

    /// <summary>The Azure SDK emits its spans through ActivitySource only when this switch is on.</summary>
    private const string AzureActivitySourceSwitch = "Azure.Experimental.EnableActivitySource";

    /// <summary>
    /// One span per storage operation (e.g. <c>TableClient.SubmitTransaction</c>), retries included. Not "Azure.*": its
    /// Azure.Core.Http spans repeat each operation once per HTTP attempt, doubling the spans exported per request, and the
    /// attempts are counted anyway by HttpClient's http.client.request.duration metric.
    /// </summary>
    private static readonly string[] AzureSources = ["Azure.Data.Tables.*", "Azure.Storage.*"];

    /// <summary>Meters .NET and ASP.NET Core publish themselves: request and storage-call durations, GC and heap.</summary>
    private static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Runtime"];

    public static WebApplicationBuilder AddTrackerTelemetry(this WebApplicationBuilder builder)
    {
        var options = TelemetryOptions.From(builder.Configuration);
        if (!options.AnyExporter)
            return builder;

        AppContext.SetSwitch(AzureActivitySourceSwitch, true);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithTracing(tracing => tracing
                .AddSource(AzureSources)
                .AddAspNetCoreInstrumentation(o => o.EnrichWithHttpRequest = DropQuery))
            .WithMetrics(metrics => metrics.AddMeter(Meters))
            .WithLogging(configureBuilder: null, configureOptions: o => o.IncludeFormattedMessage = true);
        // ASP.NET Core's "Request starting …" lines carry the query string (function keys, SAS signatures): never export them.
        builder.Logging.AddFilter<OpenTelemetryLoggerProvider>("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);

        if (!string.IsNullOrWhiteSpace(options.AzureMonitorConnectionString))
        {
            // Identity-based ingestion (the component has local auth off): the storage credential, i.e. the app's
            // user-assigned identity (Tracker:Storage:ClientId).
            builder.Services.AddOptions<AzureMonitorExporterOptions>().Configure<TokenCredential>((o, credential) => o.Credential = credential);
            telemetry.UseAzureMonitorExporter();
        }

        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
        {
            telemetry.WithTracing(t => t.AddOtlpExporter())
                .WithMetrics(m => m.AddOtlpExporter())
                .WithLogging(l => l.AddOtlpExporter());
        }

        if (options.Console)
        {
            telemetry.WithTracing(t => t.AddConsoleExporter())
                .WithMetrics(m => m.AddConsoleExporter())
                .WithLogging(l => l.AddConsoleExporter());
        }

        return builder;
    }

    /// <summary>
    /// Query strings may carry function keys (<c>code=</c>) and SAS signatures (<c>sig=</c>). The instrumentation
    /// redacts their values by default, but an environment variable turns that off; keep the query out altogether.
    /// </summary>
    private static void DropQuery(System.Diagnostics.Activity activity, HttpRequest request) => activity.SetTag("url.query", null);
}
