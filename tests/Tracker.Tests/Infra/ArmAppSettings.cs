using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tracker.Tests.Infra;

/// <summary>One app setting of the compiled template: its name, its value (a literal, or an ARM expression without the
/// enclosing brackets), and whether it exists only when a condition holds.</summary>
internal sealed record ArmAppSetting(string Name, string Value, string? Condition);

/// <summary>
/// Reads <c>siteConfig.appSettings</c> from the compiled template. A plain array compiles to JSON; an array with
/// optional parts (<c>concat([...], entraSettings)</c>) compiles to one ARM expression, so this reads the
/// <c>createObject('name', …, 'value', …)</c> calls inside it, expanding the variables it references. A setting inside
/// an <c>if(cond, createArray(), …)</c> variable is conditional on <c>cond</c>. Enough of ARM's grammar for what Bicep
/// emits here, not a general evaluator.
/// </summary>
internal static partial class ArmAppSettings
{
    public static List<ArmAppSetting> Read(JsonNode? appSettings, JsonObject template) => appSettings switch
    {
        JsonArray array => array.OfType<JsonObject>()
            .Select(s => new ArmAppSetting((string)s["name"]!, Unbracket(ValueText(s["value"])), null))
            .ToList(),
        JsonValue value when value.TryGetValue(out string? expression) => FromExpression(Unbracket(expression), template, null),
        _ => throw new InvalidOperationException("siteConfig.appSettings is neither an array nor an expression"),
    };

    private static List<ArmAppSetting> FromExpression(string expression, JsonObject template, string? condition)
    {
        var settings = new List<ArmAppSetting>();
        var position = 0;
        while (position < expression.Length)
        {
            var variable = VariableReference().Match(expression, position);
            var create = expression.IndexOf("createObject(", position, StringComparison.Ordinal);
            if (variable.Success && (create < 0 || variable.Index < create))
            {
                var name = variable.Groups["name"].Value;
                var text = Unbracket(ValueText(template["variables"]?[name]
                                              ?? throw new InvalidOperationException($"appSettings references unknown variable {name}")));
                settings.AddRange(FromVariable(text, template, condition));
                position = variable.Index + variable.Length;
                continue;
            }
            if (create < 0) break;
            var arguments = Arguments(expression, create + "createObject(".Length, out var end);
            if (arguments.Count == 4 && arguments[0] == "'name'" && arguments[2] == "'value'")
                settings.Add(new ArmAppSetting(Name(arguments[1]), Literal(arguments[3]) ?? arguments[3], condition));
            position = end;
        }
        return settings;
    }

    // if(cond, createArray(), rest): the settings of rest exist only when cond is false.
    private static List<ArmAppSetting> FromVariable(string text, JsonObject template, string? condition)
    {
        if (!text.StartsWith("if(", StringComparison.Ordinal)) return FromExpression(text, template, condition);
        var arguments = Arguments(text, "if(".Length, out _);
        if (arguments is not [var test, "createArray()", var otherwise])
            throw new InvalidOperationException($"unexpected conditional app settings: {text}");
        return FromExpression(otherwise, template, $"not({test})");
    }

    // 'literal' → literal; format('a{0}', x) → a0 (each setting an array index makes: the first one is enough to name it).
    private static string Name(string argument)
    {
        if (Literal(argument) is { } literal) return literal;
        if (argument.StartsWith("format(", StringComparison.Ordinal))
        {
            var format = Arguments(argument, "format(".Length, out _);
            return Regex.Replace(Literal(format[0]) ?? throw new InvalidOperationException(argument), @"\{\d+\}", "0");
        }
        throw new InvalidOperationException($"cannot read an app setting name from {argument}");
    }

    private static string? Literal(string argument) =>
        argument.Length >= 2 && argument[0] == '\'' && argument[^1] == '\'' && !argument[1..^1].Replace("''", "").Contains('\'')
            ? argument[1..^1].Replace("''", "'")
            : null;

    /// <summary>The comma-separated arguments of the call whose '(' ends just before <paramref name="start"/>.</summary>
    private static List<string> Arguments(string text, int start, out int end)
    {
        var arguments = new List<string>();
        var current = new StringBuilder();
        var depth = 0;
        var quoted = false;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                current.Append(c);
                if (c == '\'') quoted = false; // '' re-enters at once, as ARM's escape needs
                continue;
            }
            switch (c)
            {
                case '\'':
                    quoted = true;
                    current.Append(c);
                    break;
                case '(' or '[':
                    depth++;
                    current.Append(c);
                    break;
                case ')' or ']' when depth > 0:
                    depth--;
                    current.Append(c);
                    break;
                case ')':
                    if (current.Length > 0 || arguments.Count > 0) arguments.Add(current.ToString().Trim());
                    end = i + 1;
                    return arguments;
                case ',' when depth == 0:
                    arguments.Add(current.ToString().Trim());
                    current.Clear();
                    break;
                default:
                    current.Append(c);
                    break;
            }
        }
        throw new InvalidOperationException($"unbalanced expression: {text}");
    }

    private static string ValueText(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.TryGetValue(out string? text) => text,
        _ => node.ToJsonString(),
    };

    private static string Unbracket(string expression) =>
        expression.StartsWith('[') && expression.EndsWith(']') && !expression.StartsWith("[[", StringComparison.Ordinal)
            ? expression[1..^1]
            : expression;

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)")]
    private static partial Regex VariableReference();
}
