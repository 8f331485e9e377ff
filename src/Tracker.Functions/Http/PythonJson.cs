using System.Globalization;
using System.Text;
using System.Text.Json;
using Tracker.Core;

namespace Tracker.Functions.Http;

/// <summary>
/// A request value as MLflow's error messages show it: Python's <c>json.dumps(value, sort_keys=True,
/// separators=(",", ":"))</c> (ASCII only, keys sorted, no spaces). Writing stops a little past what
/// <see cref="Echo"/> keeps, so a huge value costs no more than its prefix.
/// </summary>
internal static class PythonJson
{
    private const int Enough = Echo.MaxChars + 16;

    public static string Format(JsonElement value)
    {
        var text = new StringBuilder();
        Write(text, value);
        return text.ToString();
    }

    public static string Format(string value)
    {
        var text = new StringBuilder();
        WriteString(text, value);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonElement value)
    {
        if (text.Length > Enough) return;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var first = true;
                foreach (var property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (text.Length > Enough) break;
                    if (!first) text.Append(',');
                    first = false;
                    WriteString(text, property.Name);
                    text.Append(':');
                    Write(text, property.Value);
                }
                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (text.Length > Enough) break;
                    if (index++ > 0) text.Append(',');
                    Write(text, item);
                }
                text.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(text, value.GetString()!);
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            case JsonValueKind.Null:
                text.Append("null");
                break;
            default:
                text.Append(value.GetRawText());
                break;
        }
    }

    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            if (text.Length > Enough) break;
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c is < ' ' or > '\u007f') text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }
}
