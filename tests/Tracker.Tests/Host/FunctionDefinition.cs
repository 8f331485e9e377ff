using System.Text.Json.Nodes;

namespace Tracker.Tests.Host;

/// <summary>
/// One function as the Functions host sees it: a folder named after the function holding a function.json. Only the
/// fields the contract tests need are surfaced; everything else stays reachable through <see cref="Bindings"/>.
/// </summary>
internal sealed record FunctionDefinition(string Name, IReadOnlyList<JsonObject> Bindings)
{
    public const string FileName = "function.json";

    /// <summary>The functions of an app root (the source project or a publish folder): its direct subfolders with a function.json.</summary>
    public static IReadOnlyList<FunctionDefinition> LoadFrom(string appRoot) =>
        Directory.EnumerateDirectories(appRoot)
            .Where(folder => File.Exists(Path.Combine(folder, FileName)))
            .Select(folder => Parse(Path.GetFileName(folder), File.ReadAllText(Path.Combine(folder, FileName))))
            .OrderBy(function => function.Name, StringComparer.Ordinal)
            .ToList();

    public static FunctionDefinition Parse(string name, string json)
    {
        var root = JsonNode.Parse(json) as JsonObject
            ?? throw new FormatException($"{name}/{FileName} is not a JSON object.");
        var bindings = root["bindings"] as JsonArray
            ?? throw new FormatException($"{name}/{FileName} has no \"bindings\" array.");
        return new FunctionDefinition(name, bindings.Select((binding, i) => binding as JsonObject
            ?? throw new FormatException($"{name}/{FileName}: bindings[{i}] is not an object.")).ToList());
    }

    /// <summary>The httpTrigger binding, if this is an HTTP function.</summary>
    public JsonObject? HttpTrigger => Bindings.FirstOrDefault(binding => IsType(binding, "httpTrigger"));

    public bool IsHttp => HttpTrigger is not null;

    public string? Route => HttpTrigger is { } trigger ? Text(trigger, "route") : null;

    /// <summary>The trigger's allowed methods; null when the function does not restrict them (every method passes).</summary>
    public IReadOnlyList<string>? Methods => HttpTrigger?["methods"] is JsonArray methods
        ? methods.Select(method => method is JsonValue value && value.TryGetValue<string>(out var text) ? text : "").ToList()
        : null;

    public static string? Text(JsonObject binding, string property) =>
        binding[property] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static bool IsType(JsonObject binding, string type) =>
        string.Equals(Text(binding, "type"), type, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Name;
}
