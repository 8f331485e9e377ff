namespace Tracker.Core.Artifacts;

/// <summary>
/// The Content-Type an artifact is stored and served with: text/plain for what MLflow's server serves as text (JSON
/// included), everything else as bytes. Never a type a browser renders as a page or runs (HTML, SVG, JavaScript):
/// artifacts are untrusted uploads (security baseline §1.7).
/// </summary>
public static class ArtifactContentTypes
{
    public const string Binary = "application/octet-stream";

    // MLflow's TEXT_EXTENSIONS; a name without extension (MLmodel, MLproject) counts as its own extension.
    private static readonly HashSet<string> TextExtensions = new(StringComparer.Ordinal)
    {
        "txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon", "toml", "yaml", "yml",
        "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst", "MLmodel", "mlproject",
    };

    public static string Guess(string fileName)
    {
        var dot = fileName.LastIndexOf('.');
        return TextExtensions.Contains(dot < 0 ? fileName : fileName[(dot + 1)..]) ? "text/plain" : Binary;
    }
}
