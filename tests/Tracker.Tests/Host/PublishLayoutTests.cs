using Tracker.Tests.Infrastructure;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;

namespace Tracker.Tests.Host;

/// <summary>
/// The publish output, zipped by scripts/package-api.mjs, is what azd deploys, so it must be a complete Functions app
/// root (reference §3, §6): host.json and one folder per function at the top, and the handler host.json names:
/// one native linux-x64 executable (Native AOT) for a quick cold start. The zip itself is checked too:
/// Flex Consumption runs the package from a read-only wwwroot, so a handler that lost its execute bit in the zip can
/// never be repaired there and every request fails after a "successful" deploy.
/// </summary>
[Collection(PublishedCollection.Name)]
public class PublishLayoutTests(PublishFixture publish)
{
    private const string AssemblyName = "Tracker.Functions";

    [Fact]
    public void HostJsonIsAtThePublishRootUnchanged()
    {
        var published = Path.Combine(publish.Root, "host.json");
        Assert.True(File.Exists(published), "host.json is missing from the publish root.");
        Assert.Equal(File.ReadAllBytes(RepoPaths.HostJson), File.ReadAllBytes(published));
    }

    [Fact]
    public void TheExecutableNamedByHostJsonIsAnExecutableLinuxApphost()
    {
        var hostJson = JsonNode.Parse(File.ReadAllText(Path.Combine(publish.Root, "host.json")))!;
        var executable = hostJson["customHandler"]?["description"]?["defaultExecutablePath"]?.GetValue<string>();
        Assert.False(string.IsNullOrEmpty(executable), "host.json names no defaultExecutablePath.");

        // Resolved against the app root; if the file were missing the host would fall back to PATH and fail.
        var path = Path.Combine(publish.Root, executable);
        Assert.True(File.Exists(path), $"{executable} is not at the publish root.");
        // A Windows file has no execute bit to check; the deployment zip sets it either way (the zip tests below).
        if (!OperatingSystem.IsWindows())
        {
            Assert.True((File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0, $"{executable} lacks the execute bit.");
        }

        var magic = new byte[4];
        using (var stream = File.OpenRead(path))
        {
            stream.ReadExactly(magic);
        }
        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F'], magic);
    }

    [Fact]
    public void TheHandlerIsNativeWithNoRuntimeBesideIt()
    {
        // Native AOT: the handler is the whole app. A JIT build (framework-dependent, self-contained or ReadyToRun)
        // would carry the app's IL assembly, a runtimeconfig.json and, self-contained, the runtime itself.
        foreach (var file in (string[])[$"{AssemblyName}.dll", $"{AssemblyName}.runtimeconfig.json", "libcoreclr.so", "libclrjit.so", "System.Private.CoreLib.dll"])
        {
            Assert.False(File.Exists(Path.Combine(publish.Root, file)), $"{file} is in the publish: the handler is not a native (AOT) build.");
        }
        Assert.Empty(Directory.EnumerateFiles(publish.Root, "*.dll", SearchOption.AllDirectories));
        // Nor its debug symbols, twice the executable's size, in the deployment.
        Assert.Empty(Directory.EnumerateFiles(publish.Root, "*.dbg", SearchOption.AllDirectories));
    }

    [Fact]
    public void EveryFunctionFolderIsAtThePublishRootUnchanged()
    {
        var source = FunctionDefinition.LoadFrom(RepoPaths.FunctionsProject).Select(f => f.Name).ToList();
        var published = FunctionDefinition.LoadFrom(publish.Root).Select(f => f.Name).ToList();
        Assert.NotEmpty(source);
        Assert.Equal(source, published);
        foreach (var name in source)
        {
            Assert.Equal(
                File.ReadAllBytes(Path.Combine(RepoPaths.FunctionsProject, name, FunctionDefinition.FileName)),
                File.ReadAllBytes(Path.Combine(publish.Root, name, FunctionDefinition.FileName)));
        }
    }

    [Fact]
    public void NoFunctionJsonSitsDeeperThanAFunctionFolder()
    {
        // The host only looks at <root>/<Function>/function.json; one under Functions/... would be silently ignored.
        var misplaced = Directory.EnumerateFiles(publish.Root, FunctionDefinition.FileName, SearchOption.AllDirectories)
            .Where(path => Path.GetDirectoryName(Path.GetDirectoryName(path)) != Path.TrimEndingDirectorySeparator(publish.Root))
            .Select(path => Path.GetRelativePath(publish.Root, path))
            .ToList();
        Assert.Empty(misplaced);
    }

    [Fact]
    public async Task TheDeploymentZipIsTheAppRootWithAnExecutableHandler()
    {
        var directory = Directory.CreateTempSubdirectory("tracker-zip-");
        try
        {
            var zipPath = Path.Combine(directory.FullName, "api.zip");
            await PackageScript.RunAsync("--from", publish.Root, "--out", zipPath);

            using var zip = ZipFile.OpenRead(zipPath);
            var files = zip.Entries.Where(entry => !entry.FullName.EndsWith('/')).ToDictionary(entry => entry.FullName, StringComparer.Ordinal);

            var handler = Assert.Contains(AssemblyName, files);
            Assert.Equal(RegularFile | 0b111_101_101, UnixMode(handler));
            Assert.Equal(File.ReadAllBytes(RepoPaths.HostJson), ReadAll(Assert.Contains("host.json", files)));
            var functions = FunctionDefinition.LoadFrom(RepoPaths.FunctionsProject);
            Assert.NotEmpty(functions);
            foreach (var function in functions)
            {
                Assert.Equal(
                    File.ReadAllBytes(Path.Combine(RepoPaths.FunctionsProject, function.Name, FunctionDefinition.FileName)),
                    ReadAll(Assert.Contains($"{function.Name}/{FunctionDefinition.FileName}", files)));
            }

            // Every published file, by its forward-slash relative name, and nothing else.
            var published = Directory.EnumerateFiles(publish.Root, "*", SearchOption.AllDirectories)
                .Select(path => Path.GetRelativePath(publish.Root, path).Replace('\\', '/'))
                .Order(StringComparer.Ordinal);
            Assert.Equal(published, files.Keys.Order(StringComparer.Ordinal));
            Assert.All(files.Values, entry => Assert.Contains(UnixMode(entry), (int[])[RegularFile | 0b110_100_100, RegularFile | 0b111_101_101]));

            // Unzippers (fuse-zip among them) honour the Unix mode only when the entry says it was made on Unix.
            Assert.All(MadeByPlatforms(zipPath), platform => Assert.Equal(UnixPlatform, platform));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    // A publish made on Windows carries no execute bit at all; the zip must mark the handler executable regardless.
    [Fact]
    public async Task TheDeploymentZipMarksTheHandlerExecutableEvenWhenTheFolderLostTheBit()
    {
        var directory = Directory.CreateTempSubdirectory("tracker-zip-");
        try
        {
            var app = Directory.CreateDirectory(Path.Combine(directory.FullName, "app")).FullName;
            File.WriteAllText(Path.Combine(app, "host.json"), """{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}""");
            File.WriteAllBytes(Path.Combine(app, "handler"), [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]);
            Directory.CreateDirectory(Path.Combine(app, "Ping"));
            File.WriteAllText(Path.Combine(app, "Ping", FunctionDefinition.FileName), """{"bindings": []}""");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(app, "handler"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            var zipPath = Path.Combine(directory.FullName, "api.zip");

            await PackageScript.RunAsync("--from", app, "--out", zipPath);

            using var zip = ZipFile.OpenRead(zipPath);
            Assert.Equal(RegularFile | 0b111_101_101, UnixMode(Assert.Single(zip.Entries, entry => entry.FullName == "handler")));
            Assert.Equal(RegularFile | 0b110_100_100, UnixMode(Assert.Single(zip.Entries, entry => entry.FullName == "Ping/function.json")));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    // A folder that is not an app root would deploy "successfully" and serve nothing: packaging refuses it.
    [Fact]
    public async Task ThePackagerRefusesAFolderWithoutTheHandlerHostJsonNames()
    {
        var directory = Directory.CreateTempSubdirectory("tracker-zip-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "host.json"), """{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}""");
            var zipPath = Path.Combine(directory.FullName, "out", "api.zip");

            var run = await PackageScript.TryRunAsync("--from", directory.FullName, "--out", zipPath);

            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("handler", run.Output, StringComparison.Ordinal);
            Assert.False(File.Exists(zipPath));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private const int RegularFile = 0b1000 << 12;
    private const int UnixPlatform = 3;

    private static int UnixMode(ZipArchiveEntry entry) => (entry.ExternalAttributes >> 16) & 0xFFFF;

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    // The "version made by" high byte of every central directory record (APPNOTE 4.4.2); ZipArchive does not expose it.
    private static List<int> MadeByPlatforms(string zipPath)
    {
        var bytes = File.ReadAllBytes(zipPath);
        var end = bytes.Length - 22;
        Assert.Equal(0x06054b50u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(end)));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(end + 10));
        var offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(end + 16));
        var platforms = new List<int>();
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(0x02014b50u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset)));
            platforms.Add(bytes[offset + 5]);
            offset += 46 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset + 28))
                + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset + 30))
                + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset + 32));
        }
        return platforms;
    }

    /// <summary>Runs scripts/package-api.mjs, the packaging step azure.yaml's prepackage hook runs.</summary>
    private static class PackageScript
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

        public static async Task RunAsync(params string[] arguments)
        {
            var run = await TryRunAsync(arguments);
            Assert.True(run.ExitCode == 0, $"package-api.mjs failed (exit {run.ExitCode}):\n{run.Output}");
        }

        public static async Task<(int ExitCode, string Output)> TryRunAsync(params string[] arguments)
        {
            var start = new ProcessStartInfo("node")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = RepoPaths.Root,
            };
            foreach (var argument in (string[])[Path.Combine(RepoPaths.Root, "scripts", "package-api.mjs"), .. arguments])
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
            using var timeout = new CancellationTokenSource(Timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"package-api.mjs did not finish within {Timeout}.");
            }
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
