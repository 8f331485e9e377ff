using System.Reflection;

namespace Tracker.Tests.Infrastructure;

/// <summary>Paths the test project was built with (assembly metadata written by the test csproj).</summary>
public static class RepoPaths
{
    public static string Root { get; } = Path.GetFullPath(Metadata("RepoRoot"));
    /// <summary>Recorded traffic and other test data, kept in the repository so a fresh clone tests on its own.</summary>
    public static string Fixtures { get; } = Path.Combine(Root, "tests", "Tracker.Tests", "Fixtures");

    /// <summary>The repo-root host.json that the Functions csproj links into its output.</summary>
    public static string HostJson { get; } = Path.Combine(Root, "host.json");

    /// <summary>The custom-handler project; its top-level folders holding a function.json are the functions.</summary>
    public static string FunctionsProject { get; } = Path.Combine(Root, "src", "Tracker.Functions");

    /// <summary>The bicep binary from the Azure.Bicep.CommandLine.linux-x64 package.</summary>
    public static string BicepCli { get; } = Metadata("BicepCli");

    private static string Metadata(string key) =>
        typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing; the test csproj generates it.");
}
