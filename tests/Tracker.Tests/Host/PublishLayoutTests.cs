using Tracker.Tests.Infrastructure;
using System.Text.Json.Nodes;

namespace Tracker.Tests.Host;

/// <summary>
/// The publish output is what azd zips and deploys, so it must be a complete Functions app root (reference §3, §6):
/// host.json and one folder per function at the top, and the apphost host.json names, self-contained for linux-x64
/// and precompiled (ReadyToRun) for a quick cold start.
/// </summary>
public class PublishLayoutTests(PublishFixture publish) : IClassFixture<PublishFixture>
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
        if (OperatingSystem.IsWindows())
        {
            // azd zips the folder with its Unix modes; published on Windows the apphost would not be executable.
            Assert.Fail("Publish the Linux app on Linux or macOS.");
            return;
        }
        Assert.True((File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0, $"{executable} lacks the execute bit.");

        var magic = new byte[4];
        using (var stream = File.OpenRead(path))
        {
            stream.ReadExactly(magic);
        }
        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F'], magic);
    }

    [Fact]
    public void TheAppIsSelfContained()
    {
        foreach (var file in (string[])[$"{AssemblyName}.dll", "libcoreclr.so", "libhostfxr.so", "libhostpolicy.so", "System.Private.CoreLib.dll", "Microsoft.AspNetCore.dll"])
        {
            Assert.True(File.Exists(Path.Combine(publish.Root, file)), $"{file} is missing: the publish is not self-contained.");
        }

        // A framework-dependent app names the shared frameworks it needs under runtimeOptions.framework(s); a
        // self-contained one lists what it carries under includedFrameworks instead.
        var runtimeOptions = JsonNode.Parse(File.ReadAllText(Path.Combine(publish.Root, $"{AssemblyName}.runtimeconfig.json")))!["runtimeOptions"]!.AsObject();
        Assert.False(runtimeOptions.ContainsKey("framework"), "runtimeconfig.json asks for a shared framework.");
        Assert.False(runtimeOptions.ContainsKey("frameworks"), "runtimeconfig.json asks for shared frameworks.");
        var included = Assert.IsType<JsonArray>(runtimeOptions["includedFrameworks"]);
        Assert.Contains(included, framework => framework?["name"]?.GetValue<string>() == "Microsoft.AspNetCore.App");
    }

    [Fact]
    public void TheAppAssembliesAreReadyToRun()
    {
        // Negative control: the same assembly as the test run builds it (IL only) must fail the check.
        Assert.False(ReadyToRun.HasNativeCode(typeof(Program).Assembly.Location), "The R2R check does not tell IL-only assemblies apart.");

        foreach (var assembly in (string[])[$"{AssemblyName}.dll", "Tracker.Core.dll"])
        {
            Assert.True(ReadyToRun.HasNativeCode(Path.Combine(publish.Root, assembly)), $"{assembly} has no ReadyToRun code.");
        }
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
}
