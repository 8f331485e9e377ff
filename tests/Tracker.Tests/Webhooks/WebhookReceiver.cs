using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tracker.Tests.Webhooks;

/// <summary>
/// A real HTTP receiver on 127.0.0.1 (Kestrel, a free port) that records every request. Paths decide the answer:
/// <c>/status/{code}</c> answers that status, <c>/redirect</c> answers 302 to <c>/after-redirect</c>,
/// <c>/redirect-private</c> 302 to a private address, <c>/stall-body</c> starts a body and never finishes it,
/// anything else 200.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Path, IReadOnlyDictionary<string, string> Headers, string Body);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);

    private WebhookReceiver(WebApplication app) => _app = app;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var path = context.Request.Path.Value ?? "/";
            receiver._received.Enqueue(new Received(path, headers, body));
            receiver._arrived.Release();
            if (path.StartsWith("/status/", StringComparison.Ordinal)) context.Response.StatusCode = int.Parse(path["/status/".Length..], System.Globalization.CultureInfo.InvariantCulture);
            else if (path == "/redirect") context.Response.Redirect(receiver.Url("/after-redirect"));
            else if (path == "/redirect-private") context.Response.Redirect("http://10.0.0.1/internal");
            else if (path == "/stall-body")
            {
                // Headers and a first chunk at once, then nothing more (until the caller gives up).
                await context.Response.WriteAsync("partial");
                await context.Response.Body.FlushAsync();
                await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted).ContinueWith(_ => { });
            }
            else await context.Response.WriteAsync("received");
        });
        await app.StartAsync();
        return receiver;
    }

    public int Port => new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    public IReadOnlyList<Received> All => _received.ToArray();

    /// <summary>Waits until <paramref name="count"/> requests have reached <paramref name="path"/> (60 s covers a slow machine;
    /// a hang fails here).</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(string path, int count = 1)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (All.Count(r => r.Path == path) < count)
        {
            try
            {
                await _arrived.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{count} deliveries to {path} expected, got {All.Count(r => r.Path == path)}");
            }
        }
        return All.Where(r => r.Path == path).ToList();
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
