using System.Text.RegularExpressions;

namespace Tracker.Core.Artifacts;

/// <summary>
/// The one gate every client-supplied artifact path passes (spec §4 "Artifact paths", security baseline): a relative
/// path of plain segments, never a way out of the directory it is joined to. Checked on every decoding of the input,
/// so encoded and double-encoded traversal is refused too, and with no OS separator but <c>/</c>.
/// </summary>
public static partial class ArtifactPath
{
    /// <summary>Azure's limit on a blob name, which an artifact path becomes part of.</summary>
    public const int MaxBlobNameLength = 1024;
    private const int MaxDecodings = 10;

    /// <summary>
    /// The relative path as it will be stored (segments joined by <c>/</c>), or an <c>INVALID_PARAMETER_VALUE</c>.
    /// An empty input is the directory itself, allowed only where <paramref name="allowEmpty"/> says so.
    /// </summary>
    public static string Validate(string? path, bool allowEmpty)
    {
        path ??= "";
        if (path.Length == 0)
            return allowEmpty ? "" : throw Invalid("the path is empty");
        var form = path;
        for (var i = 0; i <= MaxDecodings; i++)
        {
            if (Problem(form) is { } problem) throw Invalid(problem);
            var decoded = Uri.UnescapeDataString(form);
            if (decoded == form) return path;
            form = decoded;
        }
        throw Invalid("the path is encoded too many times");
    }

    /// <summary>The last segment of a client's local file path, whichever OS separator it uses.</summary>
    public static string FileName(string localPath)
    {
        var name = localPath[(localPath.LastIndexOfAny(['/', '\\']) + 1)..];
        return Validate(name, allowEmpty: false);
    }

    private static string? Problem(string form)
    {
        foreach (var c in form)
        {
            if (char.IsControl(c)) return "it contains a control character";
            if (c is '\\') return "it contains a backslash";
            if (c is '#' or '?') return $"it contains '{c}'";
        }
        if (form.StartsWith('/')) return "it is absolute";
        if (form.Length >= 2 && char.IsAsciiLetter(form[0]) && form[1] == ':') return "it starts with a drive letter";
        if (Scheme().IsMatch(form)) return "it starts with a URI scheme";
        foreach (var segment in form.Split('/'))
        {
            if (segment.Length == 0) return "it has an empty segment";
            if (segment is "." or "..") return $"it has a '{segment}' segment";
        }
        return null;
    }

    /// <summary>RFC 3986's scheme, as in <c>file:</c>, <c>s3:</c>, <c>dbfs:</c>: never part of a relative path.</summary>
    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex Scheme();

    private static MlflowException Invalid(string why) => MlflowException.InvalidParameter($"Invalid path: {why}.");
}
