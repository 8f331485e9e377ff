namespace Tracker.Core.Search;

internal enum FilterTokenKind
{
    /// <summary>A bare word: an identifier segment or a keyword (AND, LIKE, IN, ASC, ...).</summary>
    Word,
    Backticked,
    DoubleQuoted,
    SingleQuoted,
    Number,
    Dot,
    /// <summary>A run of <c>&lt; &gt; = !</c>; kept whole so that <c>&gt;&gt;&gt;</c> is reported as one comparator, as MLflow does.</summary>
    Operator,
    LeftParen,
    RightParen,
    Comma,
    Semicolon,
    End,
    /// <summary>Lexing stopped here; <see cref="FilterToken.Content"/> says why.</summary>
    Error,
}

/// <param name="Text">The token exactly as written (quotes included).</param>
/// <param name="Content">For quoted tokens the text between the quotes; for errors the reason.</param>
/// <param name="AfterWhitespace">Whether whitespace separates this token from the previous one.</param>
internal readonly record struct FilterToken(FilterTokenKind Kind, int Start, string Text, string Content, bool AfterWhitespace)
{
    public int End => Start + Text.Length;

    public bool IsWord(string keyword) => Kind == FilterTokenKind.Word && Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Splits a search filter or order_by clause into tokens, in one left-to-right pass with no
/// backtracking. It follows the sqlparse lexer MLflow uses closely enough that the same inputs are
/// accepted: quoted strings keep doubled quotes and backslash escapes verbatim (MLflow strips only
/// the outer quotes), numbers may be negative and have a fraction or exponent.
/// </summary>
internal static class FilterTokenizer
{
    public static List<FilterToken> Tokenize(string source)
    {
        var tokens = new List<FilterToken>();
        var i = 0;
        while (true)
        {
            var afterWhitespace = false;
            while (i < source.Length && char.IsWhiteSpace(source[i]))
            {
                i++;
                afterWhitespace = true;
            }

            if (i >= source.Length)
            {
                tokens.Add(new FilterToken(FilterTokenKind.End, i, "", "", afterWhitespace));
                return tokens;
            }

            var previous = tokens.Count > 0 ? tokens[^1] : default;
            var adjacentToPrevious = tokens.Count > 0 && !afterWhitespace;
            var token = Next(source, i, afterWhitespace, adjacentToPrevious ? previous.Kind : null);
            tokens.Add(token);
            if (token.Kind == FilterTokenKind.Error)
            {
                return tokens;
            }

            i = token.End;
        }
    }

    private static FilterToken Next(string s, int i, bool afterWhitespace, FilterTokenKind? adjacentPrevious)
    {
        var c = s[i];
        // After "metrics." a segment may start with a digit (metrics.0); elsewhere a digit starts a number.
        var afterDot = adjacentPrevious == FilterTokenKind.Dot;
        var afterSegment = adjacentPrevious is FilterTokenKind.Word or FilterTokenKind.Backticked
            or FilterTokenKind.DoubleQuoted or FilterTokenKind.SingleQuoted;

        if (IsWordStart(c) || (afterDot && IsWordPart(c)))
        {
            var end = i + 1;
            while (end < s.Length && IsWordPart(s[end]))
            {
                end++;
            }

            return Make(FilterTokenKind.Word, s, i, end, afterWhitespace);
        }

        if (c == '.' && afterSegment)
        {
            return Make(FilterTokenKind.Dot, s, i, i + 1, afterWhitespace);
        }

        switch (c)
        {
            case '`':
            case '"':
            case '\'':
                return Quoted(s, i, c, afterWhitespace);
            case '(':
                return Make(FilterTokenKind.LeftParen, s, i, i + 1, afterWhitespace);
            case ')':
                return Make(FilterTokenKind.RightParen, s, i, i + 1, afterWhitespace);
            case ',':
                return Make(FilterTokenKind.Comma, s, i, i + 1, afterWhitespace);
            case ';':
                return Make(FilterTokenKind.Semicolon, s, i, i + 1, afterWhitespace);
        }

        if (IsOperatorChar(c))
        {
            var end = i + 1;
            while (end < s.Length && IsOperatorChar(s[end]))
            {
                end++;
            }

            return Make(FilterTokenKind.Operator, s, i, end, afterWhitespace);
        }

        if (char.IsAsciiDigit(c) || c == '-' || c == '.')
        {
            return Number(s, i, afterWhitespace);
        }

        return Error(i, $"unexpected character '{c}' at position {i}", afterWhitespace);
    }

    private static FilterToken Quoted(string s, int start, char quote, bool afterWhitespace)
    {
        var i = start + 1;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == quote)
            {
                // A doubled quote stays inside the string (SQL style).
                if (i + 1 < s.Length && s[i + 1] == quote)
                {
                    i += 2;
                    continue;
                }

                var kind = quote switch
                {
                    '`' => FilterTokenKind.Backticked,
                    '"' => FilterTokenKind.DoubleQuoted,
                    _ => FilterTokenKind.SingleQuoted,
                };
                return new FilterToken(kind, start, s[start..(i + 1)], s[(start + 1)..i], afterWhitespace);
            }

            // sqlparse lets a backslash escape the quote or itself inside '...' and "..." (not `...`).
            if (c == '\\' && quote != '`' && i + 1 < s.Length && (s[i + 1] == quote || s[i + 1] == '\\'))
            {
                i += 2;
                continue;
            }

            i++;
        }

        return Error(start, $"unterminated quoted string starting at position {start}", afterWhitespace);
    }

    private static FilterToken Number(string s, int start, bool afterWhitespace)
    {
        var i = start;
        if (s[i] == '-')
        {
            i++;
        }

        var digits = CountDigits(s, i);
        i += digits;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            var fraction = CountDigits(s, i);
            i += fraction;
            digits += fraction;
        }

        if (digits == 0)
        {
            return Error(start, $"unexpected character '{s[start]}' at position {start}", afterWhitespace);
        }

        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            var exponentStart = i + 1;
            if (exponentStart < s.Length && (s[exponentStart] == '-' || s[exponentStart] == '+'))
            {
                exponentStart++;
            }

            var exponentDigits = CountDigits(s, exponentStart);
            if (exponentDigits > 0)
            {
                i = exponentStart + exponentDigits;
            }
        }

        if (i < s.Length && IsWordPart(s[i]))
        {
            return Error(start, $"malformed number at position {start}", afterWhitespace);
        }

        return Make(FilterTokenKind.Number, s, start, i, afterWhitespace);
    }

    private static int CountDigits(string s, int i)
    {
        var n = 0;
        while (i + n < s.Length && char.IsAsciiDigit(s[i + n]))
        {
            n++;
        }

        return n;
    }

    private static FilterToken Make(FilterTokenKind kind, string s, int start, int end, bool afterWhitespace)
    {
        var text = s[start..end];
        return new FilterToken(kind, start, text, text, afterWhitespace);
    }

    private static FilterToken Error(int at, string reason, bool afterWhitespace) =>
        new(FilterTokenKind.Error, at, "", reason, afterWhitespace);

    private static bool IsWordStart(char c) => char.IsLetter(c) || c == '_';

    private static bool IsWordPart(char c) => char.IsLetterOrDigit(c) || c == '_';

    private static bool IsOperatorChar(char c) => c is '<' or '>' or '=' or '!';
}
