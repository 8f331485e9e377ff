using System.Net;

namespace Tracker.Functions.Http;

public static class HttpServiceCollectionExtensions
{
    public const string DefaultLocalUrl = "http://127.0.0.1:5000";

    /// <summary>
    /// Kestrel's limit on the request line (default 8 KB). The longest legitimate URL is an artifact path of the
    /// 1,024-character blob-name limit in 3-byte UTF-8 characters, percent-encoded (9 URL characters each): about
    /// 8.9 KB. (get-history-bulk-interval with MLflow's 100 run ids and a 250-character key stays under 8 KB.)
    /// </summary>
    public const int MaxRequestLineBytes = 16 * 1024;

    /// <summary>Set by the Functions host, which then is the only caller (see <see cref="ListenWhereTheHostSays"/>).</summary>
    private static string? FunctionsHostPort => Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");

    /// <summary>
    /// Under the Functions host: IPv4 loopback on the port it hands over in FUNCTIONS_CUSTOMHANDLER_PORT. Otherwise
    /// the configured URLs (<c>--urls</c>, ASPNETCORE_URLS), by default http://127.0.0.1:5000.
    /// </summary>
    public static WebApplicationBuilder ListenWhereTheHostSays(this WebApplicationBuilder builder)
    {
        var hostPort = FunctionsHostPort;
        if (!string.IsNullOrEmpty(hostPort))
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, int.Parse(hostPort, System.Globalization.CultureInfo.InvariantCulture)));
        else if (string.IsNullOrEmpty(builder.Configuration["urls"]))
            builder.WebHost.UseUrls(DefaultLocalUrl);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = RequestArgs.MaxBodyBytes;
            // Kestrel answers requests over its limits itself, before any Tracker code, with an empty body (README).
            k.Limits.MaxRequestLineSize = MaxRequestLineBytes;
        });
        return builder;
    }

    /// <summary>Logs to stdout; only real errors to stderr, which the Functions host records as errors.</summary>
    public static WebApplicationBuilder AddTrackerLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Error);
        // It logs every /health call's result as an error; StorageHealthCheck logs each probe's failure once instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.None);
        return builder;
    }

    public static IServiceCollection AddTrackerHttp(this IServiceCollection services)
    {
        services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.Section)
            .PostConfigure(o => o.TrustForwardedHost |= !string.IsNullOrEmpty(FunctionsHostPort));
        services.AddOptions<DiagnosticsOptions>().BindConfiguration(DiagnosticsOptions.Section);
        services.AddOptions<MemoryOptions>().BindConfiguration(MemoryOptions.Section);
        services.AddOptions<Endpoints.WebUiOptions>().BindConfiguration(Endpoints.WebUiOptions.Section)
            .Validate(o => o.IsValid(), "Tracker:Ui:EntraClientId must be the UI app registration's application (client) id, a GUID.")
            .ValidateOnStart();
        services.AddSingleton<IdleMemoryTrimmer>();
        services.AddHostedService(sp => sp.GetRequiredService<IdleMemoryTrimmer>());
        return services;
    }
}
