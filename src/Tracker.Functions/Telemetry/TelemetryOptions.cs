namespace Tracker.Functions.Telemetry;

/// <summary>
/// Where telemetry goes. Each exporter is on only when configured, so a Tracker with none of these settings does not
/// start OpenTelemetry at all and pays nothing for it at start-up.
/// </summary>
public sealed class TelemetryOptions
{
    public const string Section = "Tracker:Telemetry";

    /// <summary>Set by Bicep in Azure: export to Application Insights, signed in with the managed identity.</summary>
    public const string AzureMonitorSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>The standard OpenTelemetry setting (with OTEL_EXPORTER_OTLP_PROTOCOL etc.): export over OTLP.</summary>
    public const string OtlpSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary><c>Tracker__Telemetry__Console=true</c>: spans, metrics and logs to stdout, for local debugging.</summary>
    public bool Console { get; set; }

    public string? AzureMonitorConnectionString { get; set; }

    public string? OtlpEndpoint { get; set; }

    public bool AnyExporter => Console || !string.IsNullOrWhiteSpace(AzureMonitorConnectionString) || !string.IsNullOrWhiteSpace(OtlpEndpoint);

    public static TelemetryOptions From(IConfiguration configuration) => new()
    {
        Console = configuration.GetValue<bool>($"{Section}:{nameof(Console)}"),
        AzureMonitorConnectionString = configuration[AzureMonitorSetting],
        OtlpEndpoint = configuration[OtlpSetting],
    };
}
