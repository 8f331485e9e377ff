using System.Globalization;
using System.Text;
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
    /// The relative path as it will be stored (segments joined by <c>/</c>), or an <c>INVALID_PARAMETER_VALUE</c> with
    /// MLflow's own message for an unsafe path, <c>Invalid path</c>, which clients and scripts match on.
    /// An empty input is the directory itself, allowed only where <paramref name="allowEmpty"/> says so.
    /// </summary>
    public static string Validate(string? path, bool allowEmpty)
    {
        path ??= "";
        if (path.Length == 0)
            return allowEmpty ? "" : throw Invalid();
        var form = path;
        for (var i = 0; i <= MaxDecodings; i++)
        {
            if (!IsSafe(form)) throw Invalid();
            var decoded = Unescape(form) ?? throw Invalid();
            if (decoded == form) return path;
            form = decoded;
        }
        throw Invalid();
    }

    /// <summary>The last segment of a client's local file path, whichever OS separator it uses.</summary>
    public static string FileName(string localPath)
    {
        var name = localPath[(localPath.LastIndexOfAny(['/', '\\']) + 1)..];
        return Validate(name, allowEmpty: false);
    }

    private static bool IsSafe(string form)
    {
        for (var i = 0; i < form.Length; i++)
        {
            var c = form[i];
            // ';' starts path parameters, which some servers and proxies cut off; U+FFFD is what a lenient decoder
            // makes of bytes that are not UTF-8, so it names a different file to each decoder.
            if (char.IsControl(c) || c is '\\' or '#' or '?' or ';' or '\uFFFD') return false;
            if (char.IsHighSurrogate(c) && i + 1 < form.Length && char.IsLowSurrogate(form[i + 1])) i++;
            else if (char.IsSurrogate(c)) return false; // no UTF-8 blob name has a lone surrogate
        }
        if (form.StartsWith('/')) return false;
        if (form.Length >= 2 && char.IsAsciiLetter(form[0]) && form[1] == ':') return false; // a drive letter
        if (Scheme().IsMatch(form)) return false;
        foreach (var segment in form.Split('/'))
            if (segment is "" or "." or "..") return false;
        return true;
    }

    /// <summary>
    /// One round of percent-decoding, or null if a run of escapes is not strict UTF-8 (overlong forms such as
    /// <c>%c0%ae</c>, encoded surrogates, stray bytes), which decoders disagree on. <see cref="Uri.UnescapeDataString(string)"/>
    /// would leave those escapes as they are, to be read as <c>.</c> or <c>/</c> by a lenient decoder further on.
    /// A <c>%</c> without two hex digits is a literal percent sign, as in MLflow.
    /// </summary>
    private static string? Unescape(string form)
    {
        if (!form.Contains('%')) return form;
        var text = new StringBuilder(form.Length);
        var bytes = new List<byte>();
        for (var i = 0; i < form.Length;)
        {
            if (form[i] == '%' && i + 2 < form.Length && char.IsAsciiHexDigit(form[i + 1]) && char.IsAsciiHexDigit(form[i + 2]))
            {
                bytes.Add(byte.Parse(form.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                i += 3;
                continue;
            }
            if (!AppendBytes()) return null;
            text.Append(form[i++]);
        }
        return AppendBytes() ? text.ToString() : null;

        bool AppendBytes()
        {
            if (bytes.Count == 0) return true;
            try
            {
                text.Append(StrictUtf8.GetString([.. bytes]));
            }
            catch (DecoderFallbackException)
            {
                return false;
            }
            bytes.Clear();
            return true;
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>RFC 3986's scheme, as in <c>file:</c>, <c>s3:</c>, <c>dbfs:</c>: never part of a relative path.</summary>
    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex Scheme();

    private static MlflowException Invalid() => MlflowException.InvalidParameter("Invalid path");
}
