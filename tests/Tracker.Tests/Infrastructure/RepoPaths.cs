using System.Reflection;

namespace Tracker.Tests.Infrastructure;

/// <summary>Paths the test project was built with (assembly metadata written by the csproj).</summary>
public static class RepoPaths
{
    public static string Root { get; } = Path.GetFullPath(Metadata("RepoRoot"));
    public static string SharedDir { get; } = Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    private static string Metadata(string key) =>
        typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
