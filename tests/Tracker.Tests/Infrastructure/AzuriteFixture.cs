using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tracker.Tests.Infrastructure;

/// <summary>
/// A real Azurite (the pinned npm package from the repo's package.json), in memory, on free loopback ports, started
/// once for the whole test run. Installs it with <c>npm ci</c> if the checkout has not yet, so a bare
/// <c>dotnet test</c> works on a machine with only the .NET SDK and Node.js.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string Account = "devstoreaccount1";
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private Process? _process;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        _process = await StartAsync("azurite.js", Path.GetTempPath(),
            "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(),
            "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(),
            "--tableHost", "127.0.0.1", "--tablePort", table.ToString());
        foreach (var port in new[] { blob, queue, table }) await WaitForPortAsync(_process, port);
        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};" +
            $"BlobEndpoint=http://127.0.0.1:{blob}/{Account};QueueEndpoint=http://127.0.0.1:{queue}/{Account};" +
            $"TableEndpoint=http://127.0.0.1:{table}/{Account};";
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        return Task.CompletedTask;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts an Azurite entry script (under <c>dist/src</c>) in memory, quiet, with the given ports and options,
    /// installing the pinned package first if needed. Its output is drained so it never blocks on a full pipe.
    /// </summary>
    internal static async Task<Process> StartAsync(string relativeScript, string workingDirectory, params string[] options)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in (string[])[await ScriptAsync(relativeScript), "--silent", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", .. options])
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<string> ScriptAsync(string relativePath)
    {
        var script = Path.Combine(RepoPaths.Root, "node_modules", "azurite", "dist", "src", relativePath);
        if (!File.Exists(script)) await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5));
        if (!File.Exists(script)) throw new InvalidOperationException($"Azurite is not installed at {script}; run npm ci in {RepoPaths.Root}.");
        return script;
    }

    internal static async Task WaitForPortAsync(Process process, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = RepoPaths.Root };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
