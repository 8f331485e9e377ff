using System.Net;

namespace Tracker.Functions.Http;

public static class HttpServiceCollectionExtensions
{
    public const string DefaultLocalUrl = "http://127.0.0.1:5000";

    /// <summary>
    /// Under the Functions host: IPv4 loopback on the port it hands over in FUNCTIONS_CUSTOMHANDLER_PORT. Otherwise
    /// the configured URLs (<c>--urls</c>, ASPNETCORE_URLS), by default http://127.0.0.1:5000.
    /// </summary>
    public static WebApplicationBuilder ListenWhereTheHostSays(this WebApplicationBuilder builder)
    {
        var hostPort = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
        if (!string.IsNullOrEmpty(hostPort))
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, int.Parse(hostPort, System.Globalization.CultureInfo.InvariantCulture)));
        else if (string.IsNullOrEmpty(builder.Configuration["urls"]))
            builder.WebHost.UseUrls(DefaultLocalUrl);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = RequestArgs.MaxBodyBytes;
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
        return builder;
    }

    public static IServiceCollection AddTrackerHttp(this IServiceCollection services)
    {
        services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.Section);
        services.AddOptions<DiagnosticsOptions>().BindConfiguration(DiagnosticsOptions.Section);
        return services;
    }
}
