using System.Globalization;
using System.Text.Json;

namespace Tracker.Core;

public static class PythonFloats
{
    /// <summary>Python's repr of a float, which is what MLflow's JSON carries (1.0, not 1); NaN and the infinities as
    /// strings, as MLflow's server writes them.</summary>
    public static void WriteDouble(this Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        if (double.IsNaN(value)) w.WriteStringValue("NaN");
        else if (double.IsPositiveInfinity(value)) w.WriteStringValue("Infinity");
        else if (double.IsNegativeInfinity(value)) w.WriteStringValue("-Infinity");
        else
        {
            var text = value.ToString("R", CultureInfo.InvariantCulture);
            w.WriteRawValue(text.AsSpan().IndexOfAny('.', 'E', 'e') >= 0 ? text : text + ".0", skipInputValidation: true);
        }
    }
}
