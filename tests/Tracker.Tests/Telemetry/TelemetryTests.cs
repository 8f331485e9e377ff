using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Tracker.Functions.Telemetry;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Telemetry;

/// <summary>
/// Telemetry as the process exports it (console exporter): spans for requests and for the storage calls behind them,
/// and no function key, SAS signature or bearer token anywhere in what leaves the process.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TelemetryTests(AzuriteFixture azurite)
{
    private const string Secret = "s3cretV4lue";

    [Fact]
    public async Task RequestsAndStorageCallsAreTracedWithoutSecrets()
    {
        await using var tracker = await TrackerProcess.StartAsync(azurite, new Dictionary<string, string>
        {
            ["Tracker__Telemetry__Console"] = "true",
        });
        using var http = new HttpClient { BaseAddress = tracker.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Secret + "-token");
        http.DefaultRequestHeaders.Add("x-functions-key", Secret + "-header");
        var query = $"code={Secret}-code&sig={Secret}-sig";
        // The pipeline is built after the first response; the start-up log lines written before it are replayed into it.
        using var first = await http.GetAsync("/health");
        var started = await WaitForAsync(tracker, o => o.Contains("OpenTelemetry export started.", StringComparison.Ordinal));
        Assert.Contains("OpenTelemetry export started.", started);

        var name = "telemetry-" + Guid.NewGuid().ToString("N");
        using var created = await http.PostAsync($"/api/2.0/mlflow/experiments/create?{query}",
            new StringContent($$"""{"name": "{{name}}"}""", Encoding.UTF8, "application/json"));
        var id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["experiment_id"]!;
        using var got = await http.GetAsync($"/api/2.0/mlflow/experiments/get?experiment_id={id}&{query}");
        Assert.Equal(200, (int)got.StatusCode);
        using var missing = await http.GetAsync($"/api/2.0/mlflow/experiments/get?experiment_id=999999999&{query}");
        Assert.Equal(404, (int)missing.StatusCode);

        // Until the last request's span (the 404) and a storage call's span are out.
        var output = await WaitForAsync(tracker, o => o.Contains("http.response.status_code: 404", StringComparison.Ordinal) && o.Contains("Azure.Data.Tables", StringComparison.Ordinal));
        Assert.Contains("POST /api/2.0/mlflow/experiments/create", output);
        Assert.Contains("GET /api/2.0/mlflow/experiments/get", output);
        // The HTTP attributes Application Insights builds its requests from (RequestSpans).
        Assert.Contains("http.route: /api/2.0/mlflow/experiments/get", output);
        Assert.Contains("http.response.status_code: 404", output);
        Assert.Contains("http.request.method: POST", output);
        Assert.Contains("Azure.Data.Tables", output); // the SDK's span around each storage call
        Assert.Contains("LogRecord.FormattedMessage:        Now listening on", output); // replayed from before the pipeline
        Assert.DoesNotContain(Secret, output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url.query", output);
    }

    [Fact]
    public async Task NoExporterConfiguredMeansNoOpenTelemetryAtAll()
    {
        using var plain = new TrackerApp(azurite);
        Assert.Equal(200, (await plain.GetAsync("/health")).Status);
        Assert.Null(plain.Services.GetService<TelemetryPipeline>());

        using var otlp = new TrackerApp(azurite, settings: new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:1" });
        var sdk = await BuiltAfterFirstResponseAsync(otlp);
        Assert.NotNull(sdk.GetService<TracerProvider>());
        Assert.NotNull(sdk.GetService<MeterProvider>());
    }

    [Fact]
    public async Task ApplicationInsightsSignsInWithTheAppIdentityNotAKey()
    {
        using var app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:1/",
        });
        var sdk = await BuiltAfterFirstResponseAsync(app);
        Assert.NotNull(sdk.GetService<TracerProvider>());
        var exporter = sdk.GetRequiredService<IOptionsMonitor<AzureMonitorExporterOptions>>().CurrentValue;
        Assert.Same(app.Services.GetRequiredService<TokenCredential>(), exporter.Credential);
    }

    private static async Task<IServiceProvider> BuiltAfterFirstResponseAsync(TrackerApp app)
    {
        Assert.Equal(200, (await app.GetAsync("/health")).Status);
        return await app.Services.GetRequiredService<TelemetryPipeline>().Built.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<string> WaitForAsync(TrackerProcess tracker, Func<string, bool> done)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !done(tracker.Output) && DateTime.UtcNow < deadline;)
            await Task.Delay(100);
        return tracker.Output;
    }
}
