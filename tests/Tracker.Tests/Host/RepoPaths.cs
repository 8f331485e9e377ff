using System.Reflection;

namespace Tracker.Tests.Host;

/// <summary>Where the repository's deployable files live; the root comes from assembly metadata the test csproj writes.</summary>
internal static class RepoPaths
{
    public static string RepoRoot { get; } = Path.GetFullPath(
        typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(attribute => attribute.Key == "RepoRoot")?.Value
        ?? throw new InvalidOperationException("Assembly metadata 'RepoRoot' is missing; the test csproj generates it."));

    /// <summary>The repo-root host.json that the Functions csproj links into its output.</summary>
    public static string HostJson { get; } = Path.Combine(RepoRoot, "host.json");

    /// <summary>The custom-handler project; its top-level folders holding a function.json are the functions.</summary>
    public static string FunctionsProject { get; } = Path.Combine(RepoRoot, "src", "Tracker.Functions");
}
