using Tracker.Tests.Infrastructure;
using System.Diagnostics;
using System.Text;

namespace Tracker.Tests.Host;

/// <summary>
/// Publishes the custom handler once, the way the azd packaging step does (scripts/package-api.mjs runs
/// <c>dotnet publish &lt;project&gt; -c Release -o &lt;folder&gt;</c>, no -r and no --self-contained, so the deployable
/// shape must come from the csproj), into a temporary folder that is deleted afterwards. The zip tests package this
/// folder with the same script rather than publishing a second time.
/// </summary>
public sealed class PublishFixture : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);

    // A test run under `dotnet test` inherits these from the outer build; they would pin the inner publish to that
    // SDK instance's MSBuild rather than the one global.json selects.
    private static readonly string[] InheritedMsBuildVariables = ["MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly"];

    private readonly DirectoryInfo _output = Directory.CreateTempSubdirectory("tracker-publish-");
    private readonly StringBuilder _log = new();
    private int _exitCode = -1;

    /// <summary>The publish root, once publishing succeeded; otherwise fails the calling test with the build log.</summary>
    public string Root
    {
        get
        {
            Assert.True(_exitCode == 0, $"dotnet publish failed (exit {_exitCode}):\n{Tail(_log.ToString())}");
            return _output.FullName;
        }
    }

    public async Task InitializeAsync()
    {
        var startInfo = new ProcessStartInfo(DotnetExecutable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var argument in (string[])["publish", RepoPaths.FunctionsProject, "-c", "Release", "-o", _output.FullName,
                     // No compiler or MSBuild server left behind holding this process's output pipes open.
                     "--disable-build-servers"])
        {
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var variable in InheritedMsBuildVariables)
        {
            startInfo.Environment.Remove(variable);
        }
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";

        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            _exitCode = process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Append($"dotnet publish did not finish within {Timeout}.");
        }
    }

    public Task DisposeAsync()
    {
        _output.Delete(recursive: true);
        return Task.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static string DotnetExecutable() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string Tail(string log) => log.Length <= 8000 ? log : "..." + log[^8000..];
}
