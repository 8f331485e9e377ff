namespace Tracker.Core.Search;

/// <summary>
/// SQL LIKE as MLflow's SQL store evaluates it: <c>%</c> matches any run of characters, <c>_</c>
/// exactly one character, everything else itself, with no escape character (MLflow passes none).
/// Patterns come from clients, so this is a greedy two-pointer wildcard match, O(text × pattern) in
/// the worst case and never exponential; no regular expression is built from the pattern.
/// </summary>
internal sealed class SqlLikePattern
{
    private readonly string pattern;
    private readonly bool ignoreCase;
    // Every non-% pattern character consumes at least one text character: a cheap early reject.
    private readonly int minimumLength;

    public SqlLikePattern(string pattern, bool ignoreCase)
    {
        this.ignoreCase = ignoreCase;
        this.pattern = ignoreCase ? pattern.ToLowerInvariant() : pattern;
        minimumLength = pattern.Length - pattern.AsSpan().Count('%');
    }

    public bool IsMatch(string text)
    {
        if (text.Length < minimumLength)
        {
            return false;
        }

        var t = 0;
        var p = 0;
        var starP = -1;
        var starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '%')
            {
                // Remember the star and try matching it against nothing first.
                starP = p++;
                starT = t;
            }
            else if (p < pattern.Length && pattern[p] == '_')
            {
                t += CharLength(text, t);
                p++;
            }
            else if (p < pattern.Length && Fold(text[t]) == pattern[p])
            {
                t++;
                p++;
            }
            else if (starP >= 0)
            {
                // Let the last star swallow one more character and retry the rest of the pattern.
                starT += CharLength(text, starT);
                t = starT;
                p = starP + 1;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '%')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private char Fold(char c) => ignoreCase ? char.ToLowerInvariant(c) : c;

    /// <summary><c>_</c> is one character, so a surrogate pair counts once (as in SQLite).</summary>
    private static int CharLength(string text, int i) =>
        i + 1 < text.Length && char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
}
