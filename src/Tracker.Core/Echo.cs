namespace Tracker.Core;

/// <summary>
/// How much of a client's value an error message repeats. MLflow quotes at most 250 characters of an over-long value
/// (<c>value[:250]</c> in validation.py); Tracker cuts every echoed value the same way, so a 5 MB key costs a 5 MB
/// request, not a 5 MB (or, escaped, 30 MB) error body on top of it.
/// </summary>
public static class Echo
{
    public const int MaxChars = 250;
    private const string Cut = "...";

    /// <summary>The value itself when short; otherwise its first <see cref="MaxChars"/> characters and "...".</summary>
    public static string Truncate(string? value)
    {
        if (value is null || value.Length <= MaxChars) return value ?? "";
        var keep = char.IsHighSurrogate(value[MaxChars - 1]) ? MaxChars - 1 : MaxChars; // never half a surrogate pair
        return string.Concat(value.AsSpan(0, keep), Cut);
    }
}
