using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Tracker.Functions.Telemetry;

/// <summary>
/// The OpenTelemetry SDK in a service container of its own, built after start-up: once the first response has gone out,
/// or a second after Kestrel listens if no request came. Set up eagerly it added 115 – 140 ms (a quarter) to every cold
/// start of the JIT build (bench/README.md, "Telemetry cost"), for loading and configuring the SDK and its exporters;
/// the native build starts in about 220 ms in all. What that costs in coverage: the first request of an instance is
/// not traced (the Functions host records its invocation and duration anyway), and log lines written before the
/// pipeline exists are replayed into it when it is built (<see cref="DeferredLoggerProvider"/>). Spans and metrics need
/// no such help: ASP.NET Core, the Azure SDK and the runtime publish through global listeners, which the providers
/// attach to whenever they are built.
/// </summary>
public sealed class TelemetryPipeline(TelemetryOptions options, IServiceProvider app) : IHostedService, IAsyncDisposable
{
    public const string ServiceName = "tracker";
    private static readonly TimeSpan StartWithoutRequestAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One span per storage operation (e.g. <c>TableClient.SubmitTransaction</c>), retries included. Not "Azure.*": its
    /// Azure.Core.Http spans repeat each operation once per HTTP attempt, doubling the spans exported per request, and the
    /// attempts are counted anyway by HttpClient's http.client.request.duration metric.
    /// </summary>
    private static readonly string[] AzureSources = ["Azure.Data.Tables.*", "Azure.Storage.*"];

    /// <summary>ASP.NET Core's own request activity, named and tagged by <see cref="RequestSpans"/>.</summary>
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    /// <summary>Meters .NET and ASP.NET Core publish themselves: request durations, connections, GC and heap. Not
    /// System.Net.Http: its per-request instruments only repeat the storage calls' durations, which every storage span
    /// already carries (Application Insights builds its dependencies from those), at a cost on every storage request.</summary>
    private static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime"];

    private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<ServiceProvider>? _built;

    public DeferredLoggerProvider Logs { get; } = new();

    /// <summary>The SDK's container once built (tests read the providers and exporter options from it).</summary>
    public Task<ServiceProvider> Built => _built ?? throw new InvalidOperationException("The host has not started.");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var started = app.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted;
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        started.Register(() => listening.TrySetResult());
        _built = Task.Run(async () =>
        {
            await listening.Task;
            await Task.WhenAny(_requested.Task, Task.Delay(StartWithoutRequestAfter));
            var sdk = Build(options, app);
            Logs.Attach(sdk.GetRequiredService<ILoggerFactory>());
            app.GetRequiredService<ILogger<TelemetryPipeline>>().LogInformation("OpenTelemetry export started.");
            return sdk;
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Flushes what the exporters hold when the host shuts down (the container owns the providers).</summary>
    public async ValueTask DisposeAsync()
    {
        Logs.Detach();
        if (_built is null) return;
        try
        {
            await (await _built).DisposeAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Stopping regardless: a pipeline that failed to build has nothing to flush (its failure was logged).
        }
    }

    private static ServiceProvider Build(TelemetryOptions options, IServiceProvider app)
    {
        var services = new ServiceCollection();
        services.AddSingleton(app.GetRequiredService<IConfiguration>());
        services.AddSingleton(app.GetRequiredService<TokenCredential>());
        // The app's logger factory already filtered each record before it got here.
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Trace));

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithTracing(tracing => tracing
                .AddSource(AspNetCoreSource)
                .AddSource(Tracker.Core.Storage.QueueTrace.SourceName)
                .AddSource(Tracker.Core.Promotions.PromotionService.ActivitySourceName)
                .AddSource(AzureSources))
            .WithMetrics(metrics => metrics.AddMeter(Meters))
            .WithLogging(configureBuilder: null, configureOptions: o => o.IncludeFormattedMessage = true);

        if (!string.IsNullOrWhiteSpace(options.AzureMonitorConnectionString))
        {
            // Identity-based ingestion (the component has local auth off): the storage credential, i.e. the app's
            // user-assigned identity (Tracker:Storage:ClientId).
            services.AddOptions<AzureMonitorExporterOptions>().Configure<TokenCredential>((o, credential) => o.Credential = credential);
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

        var sdk = services.BuildServiceProvider();
        // Building the providers is what attaches their listeners; nothing else asks for them in this container.
        sdk.GetRequiredService<TracerProvider>();
        sdk.GetRequiredService<MeterProvider>();
        return sdk;
    }

    /// <summary>
    /// Outermost in the pipeline, so that every request counts and the final status is seen: signals the first answered
    /// request, and tags each request's span (<see cref="RequestSpans"/>).
    /// </summary>
    internal sealed class RequestHooks(TelemetryPipeline pipeline) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (!pipeline._requested.Task.IsCompleted)
                    context.Response.OnCompleted(() => { pipeline._requested.TrySetResult(); return Task.CompletedTask; });
                return RequestSpans.TagAsync(context, nextMiddleware);
            });
            next(app);
        };
    }
}
