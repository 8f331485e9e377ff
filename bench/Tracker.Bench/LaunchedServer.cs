using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tracker.Bench;

/// <summary>
/// A server process the bench starts itself (<c>--launch</c>), so it can time process start to first
/// answered request and read the process's memory afterwards. Tracker is an Azure Functions custom
/// handler, which listens on <c>FUNCTIONS_CUSTOMHANDLER_PORT</c>. The process tree is killed on
/// Dispose, and — as a last resort, e.g. after a second Ctrl-C — when the bench process exits.
/// </summary>
public sealed class LaunchedServer : IDisposable
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private const int OutputLinesKept = 200;

    private readonly Process _process;
    private readonly Queue<string> _recentOutput = new();
    private readonly string _executable;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _environment;
    private bool _started;
    private double _peakBeforeResets;

    private LaunchedServer(ProcessStartInfo startInfo, string baseUrl, string executable, IReadOnlyList<KeyValuePair<string, string>> environment)
    {
        _executable = executable;
        _environment = environment;
        _process = new Process { StartInfo = startInfo };
        // The server's logs are kept (last lines only) rather than shown: stdout is for figures, and
        // an undrained pipe would eventually block the server. They are printed if something fails.
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        BaseUrl = baseUrl;
        AppDomain.CurrentDomain.ProcessExit += OnBenchExit;
    }

    public string BaseUrl { get; }

    public TimeSpan? StartupToFirstResponse { get; private set; }

    /// <summary>
    /// Starts <paramref name="executable"/> on a free loopback port and waits for <c>GET /</c> (the Functions host's
    /// readiness poll) to answer 200. As the Functions host starts it (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c>), or with
    /// <paramref name="functionsHost"/> false as a local run does (<c>ASPNETCORE_URLS</c>): Tracker refuses to run with auth
    /// off under the Functions host, so a comparison with auth off starts both sides this way.
    /// </summary>
    public static async Task<LaunchedServer> StartAsync(
        string executable,
        IReadOnlyList<KeyValuePair<string, string>> environment,
        HttpClient http,
        CancellationToken ct,
        bool functionsHost = true)
    {
        var path = Path.GetFullPath(executable);
        if (!File.Exists(path))
        {
            throw new BenchException($"--launch: no such file '{path}'");
        }

        var port = FreeLoopbackPort();
        var startInfo = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // ASP.NET Core takes its content root (appsettings.json) from the working directory, and
            // the Functions host starts the handler in the app folder; do the same.
            WorkingDirectory = Path.GetDirectoryName(path)!,
        };
        foreach (var (key, value) in environment)
        {
            startInfo.Environment[key] = value;
        }

        if (functionsHost)
        {
            startInfo.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            startInfo.Environment.Remove("FUNCTIONS_CUSTOMHANDLER_PORT");
            startInfo.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        }

        await WarmUpHttpStackAsync(http, ct);
        Report.Progress($"launching {path} on port {port}");
        var server = new LaunchedServer(startInfo, $"http://127.0.0.1:{port}", executable, environment);
        try
        {
            await server.StartAndWaitForFirstResponseAsync(http, ct);
            return server;
        }
        catch
        {
            server.WriteRecentOutput(Console.Error);
            server.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a second server from the same executable and environment, with <paramref name="overrides"/> replacing
    /// or adding variables: the same storage behind another configuration. This one keeps running.
    /// </summary>
    public Task<LaunchedServer> StartSiblingAsync(
        IReadOnlyList<KeyValuePair<string, string>> overrides, HttpClient http, CancellationToken ct, bool functionsHost = true) =>
        StartAsync(_executable, WithOverrides(overrides), http, ct, functionsHost);

    /// <summary>
    /// Runs the executable's management command (<c>&lt;executable&gt; admin …</c>) with the server's environment, so it writes
    /// to the same storage, and returns what it printed on stdout (for <c>create-token</c>, only the token).
    /// </summary>
    public async Task<string> RunAdminCommandAsync(IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var startInfo = new ProcessStartInfo(Path.GetFullPath(_executable))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(_executable))!,
        };
        startInfo.ArgumentList.Add("admin");
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in _environment)
        {
            startInfo.Environment[key] = value;
        }

        using var process = Process.Start(startInfo) ?? throw new BenchException($"cannot start {_executable} admin");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new BenchException($"{_executable} admin {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}");
        }

        return (await stdout).Trim();
    }

    /// <summary>A token of a new non-admin user (named after this bench run), from <c>admin create-token</c>.</summary>
    public async Task<string> CreateBenchTokenAsync(CancellationToken ct)
    {
        var token = await RunAdminCommandAsync(["create-token", "--user", BenchNames.Experiment("user"), "--name", "tracker-bench"], ct);
        return token.StartsWith("trk_", StringComparison.Ordinal) && !token.Contains('\n')
            ? token
            : throw new BenchException("admin create-token printed something other than one token");
    }

    private IReadOnlyList<KeyValuePair<string, string>> WithOverrides(IReadOnlyList<KeyValuePair<string, string>> overrides)
    {
        var keys = overrides.Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        return [.. _environment.Where(e => !keys.Contains(e.Key)), .. overrides];
    }

    /// <summary>The variables the server was started with (the last one wins for a repeated key, as in the child).</summary>
    public string? EnvironmentValue(string key) =>
        _environment.LastOrDefault(e => e.Key == key) is { Key: not null } found ? found.Value : null;

    /// <summary>
    /// User plus system CPU time of the whole process so far. On Linux, .NET reads this from utime + stime in
    /// /proc/&lt;pid&gt;/stat (all threads, GC included), scaled by the kernel's clock tick.
    /// </summary>
    public TimeSpan ReadCpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>
    /// Resets VmHWM to the current VmRSS (<c>echo 5 &gt; /proc/&lt;pid&gt;/clear_refs</c>), so the next VmHWM is the
    /// peak since now. The lifetime peak so far is remembered first, so <see cref="ReadMemory"/> still reports it.
    /// False where the kernel does not allow it; callers then rely on sampling VmRSS.
    /// </summary>
    public bool ResetPeakMemory()
    {
        if (ReadMemory() is not { } before)
        {
            return false;
        }

        _peakBeforeResets = Math.Max(_peakBeforeResets, before.PeakResidentMegabytes);
        try
        {
            File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>VmRSS (current) and VmHWM (peak) from /proc; null where /proc is not available.</summary>
    public ServerMemory? ReadMemory() =>
        ReadStatusMemory() is { } m ? m with { PeakResidentMegabytes = Math.Max(m.PeakResidentMegabytes, _peakBeforeResets) } : null;

    /// <summary>VmRSS and VmHWM as the kernel has them now (VmHWM counts from the last <see cref="ResetPeakMemory"/>).</summary>
    public ServerMemory? ReadStatusMemory()
    {
        var statusFile = $"/proc/{_process.Id}/status";
        if (_process.HasExited || !File.Exists(statusFile))
        {
            return null;
        }

        double? rss = null, peak = null;
        foreach (var line in File.ReadLines(statusFile))
        {
            // Lines look like "VmRSS:\t  123456 kB".
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line) / 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line) / 1024;
            }
        }

        return rss is { } r && peak is { } p ? new ServerMemory(r, p) : null;
    }

    /// <summary>
    /// RssAnon (heaps, GC and native) and RssFile (mapped executables and ReadyToRun images) from /proc, in MB: what the
    /// GC settings can shrink and what they cannot.
    /// </summary>
    public (double Anonymous, double FileBacked)? ReadResidentBreakdown()
    {
        var statusFile = $"/proc/{_process.Id}/status";
        if (_process.HasExited || !File.Exists(statusFile))
        {
            return null;
        }

        double? anonymous = null, file = null;
        foreach (var line in File.ReadLines(statusFile))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anonymous = Kilobytes(line) / 1024;
            }
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
            {
                file = Kilobytes(line) / 1024;
            }
        }

        return anonymous is { } a && file is { } f ? (a, f) : null;
    }

    public void WriteRecentOutput(TextWriter writer)
    {
        string[] lines;
        lock (_recentOutput)
        {
            lines = [.. _recentOutput];
        }

        if (lines.Length == 0)
        {
            return;
        }

        writer.WriteLine($"-- last {lines.Length} lines of server output --");
        foreach (var line in lines)
        {
            writer.WriteLine(line);
        }

        writer.WriteLine("-- end of server output --");
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnBenchExit;
        Stop();
        _process.Dispose();
    }

    private async Task StartAndWaitForFirstResponseAsync(HttpClient http, CancellationToken ct)
    {
        var healthUrl = BaseUrl + "/";
        var started = Stopwatch.GetTimestamp();
        try
        {
            _process.Start();
        }
        catch (Win32Exception e)
        {
            throw new BenchException($"--launch: cannot start '{_process.StartInfo.FileName}': {e.Message}");
        }

        _started = true;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        while (true)
        {
            if (await AnswersOkAsync(http, healthUrl, ct))
            {
                StartupToFirstResponse = Stopwatch.GetElapsedTime(started);
                return;
            }

            if (_process.HasExited)
            {
                throw new BenchException($"server exited with code {_process.ExitCode} before answering GET /");
            }

            if (Stopwatch.GetElapsedTime(started) > StartupTimeout)
            {
                throw new BenchException($"server did not answer GET {healthUrl} with 200 within {StartupTimeout.TotalSeconds:F0} s");
            }

            await Task.Delay(PollInterval, ct);
        }
    }

    private static async Task<bool> AnswersOkAsync(HttpClient http, string url, CancellationToken ct)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(ProbeTimeout);
        try
        {
            using var response = await http.GetAsync(url, attempt.Token);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false; // not listening yet
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false; // listening but not answering yet
        }
    }

    /// <summary>
    /// Sends one request through the shared HttpClient to a throwaway local listener before the
    /// server starts, so the bench's own first-request costs (JIT, handler setup) are not counted
    /// as server startup time.
    /// </summary>
    private static async Task WarmUpHttpStackAsync(HttpClient http, CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var serve = ServeOneOkAsync(listener, ct);
            using (var response = await http.GetAsync($"http://127.0.0.1:{port}/health", ct))
            {
                await response.Content.ReadAsByteArrayAsync(ct);
            }

            await serve;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task ServeOneOkAsync(TcpListener listener, CancellationToken ct)
    {
        using var client = await listener.AcceptTcpClientAsync(ct);
        var stream = client.GetStream();
        var buffer = new byte[4096];
        var received = 0;
        // Read until the blank line that ends the request headers (a GET has no body).
        while (received < buffer.Length && !buffer.AsSpan(0, received).EndsWith("\r\n\r\n"u8))
        {
            var read = await stream.ReadAsync(buffer.AsMemory(received), ct);
            if (read == 0)
            {
                return;
            }

            received += read;
        }

        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"u8.ToArray(), ct);
    }

    private static int FreeLoopbackPort()
    {
        // Bind port 0 and release it; the kernel is unlikely to hand the same port out again at once.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static double Kilobytes(string statusLine)
    {
        var fields = statusLine.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && double.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb)
            ? kb
            : throw new BenchException($"cannot read '{statusLine}'");
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_recentOutput)
        {
            _recentOutput.Enqueue(line);
            while (_recentOutput.Count > OutputLinesKept)
            {
                _recentOutput.Dequeue();
            }
        }
    }

    private void Stop()
    {
        if (!_started)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void OnBenchExit(object? sender, EventArgs e) => Stop();
}
