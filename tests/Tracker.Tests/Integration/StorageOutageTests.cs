using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Storage that stalls or refuses connections: requests answer a retryable 503 within Tracker's per-request storage
/// budget (well before the MLflow client's own 120 s timeout) without naming the storage endpoint, and /health says so.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class StorageOutageTests(AzuriteFixture azurite)
{
    private const string Api = "/api/2.0/mlflow/";

    /// <summary>Far above the configured 2 s budget and far below the minutes a stall took before there was one.</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    [GeneratedRegex(@"127\.0\.0\.1:\d+")]
    private static partial Regex Endpoint();

    /// <summary>Tracker over Azurite's account, but with every service endpoint at <paramref name="port"/>.</summary>
    private TrackerApp AppWithStorageAt(int port) => new(azurite, settings: new Dictionary<string, string>
    {
        ["Tracker:Storage:ConnectionString"] = Endpoint().Replace(azurite.ConnectionString, $"127.0.0.1:{port}"),
        ["Tracker:Storage:RequestTimeout"] = "00:00:02",
    });

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> SearchAsync(TrackerApp app)
    {
        using var client = app.CreateClient();
        client.Timeout = ClientTimeout;
        using var response = await client.PostAsync(Api + "runs/search",
            new StringContent("""{"experiment_ids":["0"]}""", Encoding.UTF8, "application/json"));
        return (response.StatusCode, await TrackerApp.ReadAsync(response));
    }

    [Fact]
    public async Task AStalledStorageAnswers503WithinTheRequestBudget()
    {
        using var stalled = new StalledListener();
        using var app = AppWithStorageAt(stalled.Port);

        var (status, body) = await SearchAsync(app);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("TEMPORARILY_UNAVAILABLE", (string)body!["error_code"]!);
        Assert.DoesNotContain(stalled.Port.ToString(), (string)body["message"]!);
        Assert.True(stalled.Connections > 0, "The request never reached the stalled storage.");
    }

    [Fact]
    public async Task StorageThatFreezesMidWayAnswers503WithinTheRequestBudget()
    {
        // Tables and the Default experiment are made while storage answers; then it freezes under open connections.
        var table = int.Parse(Regex.Match(azurite.ConnectionString, @"TableEndpoint=http://127\.0\.0\.1:(\d+)").Groups[1].Value);
        using var proxy = new FreezableProxy(table);
        using var app = new TrackerApp(azurite, settings: new Dictionary<string, string>
        {
            ["Tracker:Storage:ConnectionString"] = azurite.ConnectionString.Replace($"127.0.0.1:{table}", $"127.0.0.1:{proxy.Port}"),
            ["Tracker:Storage:RequestTimeout"] = "00:00:02",
        });
        Assert.Equal(HttpStatusCode.OK, (await SearchAsync(app)).Status);

        proxy.Freeze();
        var (status, body) = await SearchAsync(app);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("TEMPORARILY_UNAVAILABLE", (string)body!["error_code"]!);
        Assert.DoesNotContain(proxy.Port.ToString(), (string)body["message"]!);
    }

    [Fact]
    public async Task RefusedConnectionsAnswer503WithoutNamingTheEndpoint()
    {
        var closedPort = AzuriteFixture.FreePort();
        using var app = AppWithStorageAt(closedPort);

        var (status, body) = await SearchAsync(app);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("TEMPORARILY_UNAVAILABLE", (string)body!["error_code"]!);
        var message = (string)body["message"]!;
        Assert.DoesNotContain("127.0.0.1", message);
        Assert.DoesNotContain(closedPort.ToString(), message);
    }

    [Fact]
    public async Task HealthIs503WhileStorageStallsAndTheReadinessProbeStaysInstant()
    {
        using var stalled = new StalledListener();
        using var app = AppWithStorageAt(stalled.Port);
        using var client = app.CreateClient();
        client.Timeout = ClientTimeout;

        using var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", (string)(await TrackerApp.ReadAsync(health))!["status"]!);

        var connectionsBefore = stalled.Connections;
        using var readiness = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, readiness.StatusCode);
        Assert.Equal(connectionsBefore, stalled.Connections);
    }

    [Fact]
    public async Task HealthIs200WhenStorageAnswers()
    {
        using var app = new TrackerApp(azurite);
        using var client = app.CreateClient();

        using var health = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", (string)(await TrackerApp.ReadAsync(health))!["status"]!);
    }

    /// <summary>Relays TCP to a port until frozen; from then on it relays nothing, on old and new connections alike.</summary>
    private sealed class FreezableProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int _target;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _frozen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public FreezableProxy(int target)
        {
            _target = target;
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Freeze() => _frozen.TrySetResult();

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = RelayAsync(client);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task RelayAsync(TcpClient client)
        {
            using (client)
            using (var server = new TcpClient())
            {
                try
                {
                    await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                    await Task.WhenAny(PumpAsync(client.GetStream(), server.GetStream()), PumpAsync(server.GetStream(), client.GetStream()));
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
                {
                    // Closed or stopped.
                }
            }
        }

        private async Task PumpAsync(Stream from, Stream to)
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0) return;
                // Bytes that arrive after the freeze are held back forever (until the proxy stops).
                if (_frozen.Task.IsCompleted) await Task.Delay(Timeout.Infinite, _stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
