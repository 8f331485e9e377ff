using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Tracker.Tests.Infrastructure;

/// <summary>
/// Tracker as its own process (the self-contained build the test build made of the Functions project), for what an in-process host cannot show: the
/// server's own memory. Extra environment, e.g. <c>DOTNET_GCHeapHardLimit</c>, bounds it from outside.
/// </summary>
public sealed class TrackerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TrackerProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>The Functions project's own output for this test build's configuration (the tests' copy has no runtime).</summary>
    internal static string BuildOutput { get; } = Path.Combine(
        RepoPaths.FunctionsProject, "bin",
        typeof(TrackerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration,
        "net10.0", "linux-x64");

    /// <summary>Starts the build's executable, or the one in <paramref name="folder"/> (a publish: Host/PublishedHandlerTests).</summary>
    public static async Task<TrackerProcess> StartAsync(AzuriteFixture azurite, IReadOnlyDictionary<string, string> environment, string? folder = null)
    {
        folder ??= BuildOutput;
        // Under the Functions host (FUNCTIONS_CUSTOMHANDLER_PORT given) Tracker listens on that port whatever --urls says.
        var port = environment.TryGetValue("FUNCTIONS_CUSTOMHANDLER_PORT", out var hostPort) ? hostPort : AzuriteFixture.FreePort().ToString(CultureInfo.InvariantCulture);
        var url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo(Path.Combine(folder, "Tracker.Functions"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url.ToString());
        start.Environment["Tracker__Storage__ConnectionString"] = azurite.ConnectionString;
        start.Environment["Tracker__Storage__TablePrefix"] = "p" + Guid.NewGuid().ToString("N")[..12];
        // Auth off, as a local Tracker runs, except under the Functions host, where Tracker refuses that.
        if (hostPort is null) start.Environment["Tracker__Auth__Disabled"] = "true";
        foreach (var (key, value) in environment) start.Environment[key] = value;

        var tracker = new TrackerProcess(Process.Start(start)!, url);
        tracker._process.OutputDataReceived += (_, e) => tracker.Log(e.Data);
        tracker._process.ErrorDataReceived += (_, e) => tracker.Log(e.Data);
        tracker._process.BeginOutputReadLine();
        tracker._process.BeginErrorReadLine();
        await tracker.WaitUntilHealthyAsync();
        return tracker;
    }

    /// <summary>
    /// Runs the build's executable, or the one in <paramref name="folder"/>, to its end with configuration from the
    /// environment only (as azd's hook runs <c>admin …</c>), on <paramref name="azurite"/>'s tables under
    /// <paramref name="tablePrefix"/>.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToEndAsync(
        AzuriteFixture azurite, string tablePrefix, IEnumerable<string> args, string? folder = null)
    {
        folder ??= BuildOutput;
        var start = new ProcessStartInfo(Path.Combine(folder, "Tracker.Functions"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["Tracker__Storage__ConnectionString"] = azurite.ConnectionString;
        start.Environment["Tracker__Storage__TablePrefix"] = tablePrefix;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The process's peak resident memory so far (VmHWM), in bytes.</summary>
    public long PeakResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    private void Log(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private async Task WaitUntilHealthyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(100))
        {
            if (_process.HasExited)
            {
                // The output readers may still be draining the pipes: this waits for their end, so the message holds
                // what the process printed before it died (its start-up refusal, say).
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"Tracker exited ({_process.ExitCode}):\n{Output}");
            }
            try
            {
                if ((await http.GetAsync(new Uri(Url, "/health"))).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
            catch (TaskCanceledException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
