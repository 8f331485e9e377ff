namespace Tracker.Core.Search;

/// <summary>One dot-separated part of an identifier: <c>metrics</c>, <c>`my key`</c>, <c>"my key"</c>.</summary>
/// <param name="Text">As written, quotes included.</param>
/// <param name="Content">Without its quotes.</param>
internal readonly record struct IdentifierSegment(string Text, string Content, bool Backticked);

/// <summary>An identifier as written (<c>tags.mlflow.runName</c>, <c>tags.`a b`</c>), before any entity table reads it.</summary>
internal sealed record SyntaxIdentifier(IReadOnlyList<IdentifierSegment> Segments, string Text)
{
    /// <summary>
    /// Everything after the first dot, unquoted: MLflow splits on the first '.' only, so
    /// <c>tags.mlflow.runName</c> has key <c>mlflow.runName</c>.
    /// </summary>
    public string KeyAfterEntity => Segments.Count == 2
        ? Segments[1].Content
        : string.Join('.', Segments.Skip(1).Select(s => s.Content));
}

internal enum SyntaxValueKind
{
    /// <summary>A single- or double-quoted string.</summary>
    String,
    Number,
    /// <summary>An unquoted or back-quoted word where a value was expected (MLflow reports it as "not quoted").</summary>
    Bare,
    /// <summary>A parenthesised list; its tokens are checked by the entity table that accepts lists.</summary>
    List,
}

/// <param name="Text">The value as written (quotes or parentheses included), for error messages.</param>
/// <param name="Content">Unquoted string, or the number's literal text.</param>
/// <param name="ListTokens">For lists: the tokens between the parentheses.</param>
internal sealed record SyntaxValue(SyntaxValueKind Kind, string Text, string Content, IReadOnlyList<FilterToken> ListTokens);

/// <param name="Comparator">The operator as written, keywords upper-cased (<c>NOT IN</c> with one space).</param>
internal sealed record SyntaxClause(SyntaxIdentifier Identifier, string Comparator, SyntaxValue Value);

/// <summary>An order_by element as written: identifier and direction.</summary>
internal sealed record SyntaxOrderBy(SyntaxIdentifier Identifier, bool Ascending);

/// <summary>
/// The entity-agnostic half of the grammar (spec §5.1): <c>clause { AND clause }</c> with
/// <c>clause := ident op value | ident [NOT] IN ( list )</c>, and order_by's <c>ident [ASC|DESC]</c>.
/// Which entities, keys, operators and value types are legal is left to a <see cref="SearchGrammar"/>.
/// </summary>
internal sealed class FilterSyntaxParser
{
    private const int MaxQuotedClauseLength = 200;

    private readonly string source;
    private readonly List<FilterToken> tokens;
    private int pos;

    private FilterSyntaxParser(string source)
    {
        this.source = source;
        tokens = FilterTokenizer.Tokenize(source);
    }

    private FilterToken Current => tokens[pos];

    private FilterToken Peek => tokens[Math.Min(pos + 1, tokens.Count - 1)];

    public static IReadOnlyList<SyntaxClause> ParseFilter(string filter)
    {
        var parser = new FilterSyntaxParser(filter);
        parser.CheckStatements();
        return parser.ParseClauses();
    }

    /// <summary>Null when the element is not <c>ident [word]</c>; <paramref name="badDirection"/> when the word is not ASC/DESC.</summary>
    public static SyntaxOrderBy? TryParseOrderBy(string orderBy, out bool badDirection)
    {
        badDirection = false;
        var parser = new FilterSyntaxParser(orderBy);
        var identifier = parser.TryParseIdentifier();
        if (identifier is null)
        {
            return null;
        }

        var ascending = true;
        if (parser.Current.Kind == FilterTokenKind.Word && parser.Peek.Kind == FilterTokenKind.End)
        {
            if (parser.Current.IsWord("DESC"))
            {
                ascending = false;
            }
            else if (!parser.Current.IsWord("ASC"))
            {
                badDirection = true;
                return null;
            }

            parser.pos++;
        }

        return parser.Current.Kind == FilterTokenKind.End ? new SyntaxOrderBy(identifier, ascending) : null;
    }

    private List<SyntaxClause> ParseClauses()
    {
        var clauses = new List<SyntaxClause>();
        if (Current.Kind == FilterTokenKind.End)
        {
            return clauses;
        }

        while (true)
        {
            var clauseStart = Current.Start;
            var clause = TryParseClause() ?? throw InvalidClause(clauseStart);
            clauses.Add(clause);
            if (Current.Kind == FilterTokenKind.End)
            {
                return clauses;
            }

            if (!Current.IsWord("AND") || Peek.Kind == FilterTokenKind.End)
            {
                // OR, NOT, a second operator, a stray value or parenthesis, a trailing AND: MLflow
                // rejects anything between comparisons that is not AND.
                throw InvalidClause(Current.Start);
            }

            pos++;
        }
    }

    /// <summary>MLflow splits the filter into SQL statements first: a ';' is never part of a filter.</summary>
    private void CheckStatements()
    {
        var semicolon = tokens.FindIndex(t => t.Kind == FilterTokenKind.Semicolon);
        if (semicolon >= 0)
        {
            var more = tokens.Skip(semicolon + 1).Any(t => t.Kind is not (FilterTokenKind.Semicolon or FilterTokenKind.End));
            throw more
                ? MlflowException.InvalidParameter(
                    $"Search filter contained multiple expression '{Echo.Truncate(source)}'. Provide AND-ed expression list.")
                : InvalidClause(tokens[semicolon].Start);
        }

        if (tokens[^1].Kind == FilterTokenKind.Error)
        {
            throw MlflowException.InvalidParameter($"Error on parsing filter '{Echo.Truncate(source)}': {Echo.Truncate(tokens[^1].Content)}.");
        }
    }

    private SyntaxClause? TryParseClause()
    {
        if (Current.IsWord("AND"))
        {
            return null;
        }

        var identifier = TryParseIdentifier();
        if (identifier is null)
        {
            return null;
        }

        string comparator;
        if (Current.Kind == FilterTokenKind.Operator)
        {
            comparator = Current.Text;
        }
        else if (Current.IsWord("LIKE") || Current.IsWord("ILIKE") || Current.IsWord("IN"))
        {
            comparator = Current.Text.ToUpperInvariant();
        }
        else if (Current.IsWord("NOT") && Peek.IsWord("IN"))
        {
            comparator = "NOT IN";
            pos++;
        }
        else
        {
            return null;
        }

        pos++;
        if (comparator is "IN" or "NOT IN" && Current.Kind != FilterTokenKind.LeftParen)
        {
            // MLflow only joins IN with a parenthesised list into a comparison.
            return null;
        }

        var value = TryParseValue();
        return value is null ? null : new SyntaxClause(identifier, comparator, value);
    }

    private SyntaxIdentifier? TryParseIdentifier()
    {
        var first = Current;
        if (first.Kind is not (FilterTokenKind.Word or FilterTokenKind.Backticked or FilterTokenKind.DoubleQuoted))
        {
            return null;
        }

        var segments = new List<IdentifierSegment> { Segment(first) };
        pos++;
        // The tokenizer emits Dot only right after a segment, so a Dot here continues this identifier.
        while (Current.Kind == FilterTokenKind.Dot)
        {
            if (Peek.AfterWhitespace || Peek.Kind is not (FilterTokenKind.Word or FilterTokenKind.Backticked
                    or FilterTokenKind.DoubleQuoted or FilterTokenKind.SingleQuoted))
            {
                return null;
            }

            segments.Add(Segment(Peek));
            pos += 2;
        }

        return new SyntaxIdentifier(segments, source[first.Start..tokens[pos - 1].End]);
    }

    private static IdentifierSegment Segment(FilterToken token) => token.Kind == FilterTokenKind.Word
        ? new IdentifierSegment(token.Text, token.Text, Backticked: false)
        : new IdentifierSegment(token.Text, token.Content, token.Kind == FilterTokenKind.Backticked);

    private SyntaxValue? TryParseValue()
    {
        var token = Current;
        switch (token.Kind)
        {
            case FilterTokenKind.SingleQuoted:
                pos++;
                return new SyntaxValue(SyntaxValueKind.String, token.Text, token.Content, []);
            case FilterTokenKind.Number:
                pos++;
                return new SyntaxValue(SyntaxValueKind.Number, token.Text, token.Text, []);
            case FilterTokenKind.LeftParen:
                return TryParseList();
        }

        var identifier = TryParseIdentifier();
        if (identifier is null)
        {
            return null;
        }

        // sqlparse reads "abc" as a quoted name; MLflow accepts it as a string value.
        var segment = identifier.Segments[0];
        return identifier.Segments.Count == 1 && token.Kind == FilterTokenKind.DoubleQuoted
            ? new SyntaxValue(SyntaxValueKind.String, segment.Text, segment.Content, [])
            : new SyntaxValue(SyntaxValueKind.Bare, identifier.Text, identifier.Text, []);
    }

    /// <summary>Collects the tokens up to the closing parenthesis; nested parentheses are not a list.</summary>
    private SyntaxValue? TryParseList()
    {
        var open = pos;
        var close = tokens.FindIndex(open + 1, t => t.Kind is FilterTokenKind.RightParen or FilterTokenKind.LeftParen or FilterTokenKind.End);
        if (tokens[close].Kind != FilterTokenKind.RightParen)
        {
            return null;
        }

        var text = source[tokens[open].Start..tokens[close].End];
        pos = close + 1;
        return new SyntaxValue(SyntaxValueKind.List, text, text, tokens.GetRange(open + 1, close - open - 1));
    }

    private MlflowException InvalidClause(int start)
    {
        var rest = source[start..].Trim();
        if (rest.Length > MaxQuotedClauseLength)
        {
            rest = string.Concat(rest.AsSpan(0, MaxQuotedClauseLength), "...");
        }

        return MlflowException.InvalidParameter($"Invalid clause(s) in filter string: '{rest}'");
    }
}
