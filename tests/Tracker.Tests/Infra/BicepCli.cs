using Tracker.Tests.Infrastructure;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Tracker.Tests.Infra;

/// <summary>
/// Runs the Bicep CLI that the test project restores from NuGet (Azure.Bicep.CommandLine.linux-x64), so infra
/// checks need no az CLI and no network. Paths come from assembly metadata written by the test csproj.
/// </summary>
/// <remarks>
/// Offline behaviour (checked with strace against 0.49.2): build and lint compile local modules with the type
/// metadata embedded in the binary. The CLI fires one background DNS lookup of aka.ms (the public-registry module
/// index) but never waits on it, so no bicepconfig.json is needed; the timeout below guards against a change in that.
/// </remarks>
internal static partial class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string RepoRoot { get; } = RepoPaths.Root;

    public static string InfraDirectory { get; } = Path.Combine(RepoRoot, "infra");

    public static string MainBicep { get; } = Path.Combine(InfraDirectory, "main.bicep");

    public static async Task<BicepRun> RunAsync(params string[] arguments)
    {
        var executable = RepoPaths.BicepCli;
        Assert.True(File.Exists(executable), $"Bicep CLI not found at {executable}; restore the test project first.");
        EnsureExecutable(executable);

        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("bicep did not start");
        using var timeout = new CancellationTokenSource(Timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return new BicepRun(process.ExitCode, await stdout, await stderr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within {Timeout}.");
        }
    }

    /// <summary>Diagnostic lines at Warning or Error level, as bicep prints them: <c>file(line,col) : Warning rule: text</c>.</summary>
    public static IReadOnlyList<string> WarningsAndErrors(BicepRun run) =>
        (run.StandardOutput + "\n" + run.StandardError)
            .Split('\n')
            .Where(line => DiagnosticLine().IsMatch(line))
            .Select(line => line.Trim())
            .ToList();


    // NuGet extraction does not always keep the execute bit on the bicep binary.
    private static void EnsureExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(path);
        if ((mode & UnixFileMode.UserExecute) == 0)
        {
            File.SetUnixFileMode(path, mode | execute);
        }
    }

    [GeneratedRegex(@"\)\s*:\s*(Warning|Error)\s", RegexOptions.IgnoreCase)]
    private static partial Regex DiagnosticLine();
}

internal sealed record BicepRun(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}
