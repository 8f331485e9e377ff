namespace Tracker.Core;

/// <summary>
/// How much of a client's value an error message repeats. MLflow quotes the first 250 characters of an over-long value
/// (<c>value[:250]</c> in validation.py's length message, which also states the full length); Tracker cuts every
/// echoed value the same way, so a 5 MB key costs a bounded request, not a 5 MB (or, escaped, 30 MB) error body.
/// </summary>
public static class Echo
{
    public const int MaxChars = 250;
    /// <summary>The value itself when short; otherwise its first <see cref="MaxChars"/> characters.</summary>
    public static string Truncate(string? value)
    {
        if (value is null || value.Length <= MaxChars) return value ?? "";
        var keep = char.IsHighSurrogate(value[MaxChars - 1]) ? MaxChars - 1 : MaxChars; // never half a surrogate pair
        return value[..keep];
    }
}
