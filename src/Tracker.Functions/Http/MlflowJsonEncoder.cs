using System.Text.Encodings.Web;

namespace Tracker.Functions.Http;

/// <summary>
/// The string escaping of every Tracker JSON response. MLflow's server writes <c>'</c> and <c>"</c> as Python's json
/// module does (<c>'</c> as is, <c>"</c> as <c>\"</c>), and clients and scripts match on that raw text, e.g.
/// <c>Invalid value \"foo\" for parameter 'metrics'</c>; the default encoder would write <c>\u0027</c> and
/// <c>\u0022</c>. Relaxed escaping gives exactly MLflow's quoting, and the characters a browser could read as
/// markup, <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c>, stay escaped as the default encoder has them, so a response
/// sniffed or embedded as HTML never carries a tag (security baseline §1.7). A quote cannot end a JSON string here
/// (it is always escaped), so leaving it is safe.
/// </summary>
internal sealed class MlflowJsonEncoder : JavaScriptEncoder
{
    public static readonly MlflowJsonEncoder Instance = new();

    private static readonly JavaScriptEncoder Relaxed = UnsafeRelaxedJsonEscaping;

    private MlflowJsonEncoder()
    {
    }

    public override int MaxOutputCharactersPerInputCharacter => Relaxed.MaxOutputCharactersPerInputCharacter;

    private static bool IsMarkup(int scalar) => scalar is '<' or '>' or '&';

    public override bool WillEncode(int unicodeScalar) => IsMarkup(unicodeScalar) || Relaxed.WillEncode(unicodeScalar);

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        var first = Relaxed.FindFirstCharacterToEncode(text, textLength);
        var end = first < 0 ? textLength : first;
        var markup = new ReadOnlySpan<char>(text, end).IndexOfAny('<', '>', '&');
        return markup >= 0 ? markup : first;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        var first = Relaxed.FindFirstCharacterToEncodeUtf8(utf8Text);
        var end = first < 0 ? utf8Text.Length : first;
        var markup = utf8Text[..end].IndexOfAny((byte)'<', (byte)'>', (byte)'&');
        return markup >= 0 ? markup : first;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        if (!IsMarkup(unicodeScalar))
            return Relaxed.TryEncodeUnicodeScalar(unicodeScalar, buffer, bufferLength, out numberOfCharactersWritten);
        var escaped = unicodeScalar switch { '<' => "\\u003C", '>' => "\\u003E", _ => "\\u0026" };
        numberOfCharactersWritten = 0;
        if (bufferLength < escaped.Length) return false;
        escaped.AsSpan().CopyTo(new Span<char>(buffer, bufferLength));
        numberOfCharactersWritten = escaped.Length;
        return true;
    }
}
