using Microsoft.AspNetCore.StaticFiles;

namespace Tracker.Core.Artifacts;

/// <summary>The Content-Type an artifact is served with, guessed from its name as MLflow's server does.</summary>
public static class ArtifactContentTypes
{
    public const string Binary = "application/octet-stream";

    // MLflow's TEXT_EXTENSIONS: shown as text by its UI, so served as text/plain (its server does the same, JSON included).
    private static readonly HashSet<string> TextExtensions = new(StringComparer.Ordinal)
    {
        "txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon", "toml", "yaml", "yml",
        "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst", "MLmodel", "mlproject",
    };

    private static readonly FileExtensionContentTypeProvider Known = new();

    public static string Guess(string fileName)
    {
        var dot = fileName.LastIndexOf('.');
        var extension = dot < 0 ? fileName : fileName[(dot + 1)..]; // MLmodel, MLproject: the name is the extension
        if (TextExtensions.Contains(extension)) return "text/plain";
        return Known.TryGetContentType(fileName, out var type) ? type : Binary;
    }
}
