using Tracker.Tests.Infrastructure;
namespace Tracker.Tests.Host;

/// <summary>
/// Static checks of the function folders in the source tree against the custom-handler rules (reference §3, §8):
/// pass-through bindings, explicit allow-listed route prefixes, no function named like a prefix. The rules live in
/// <see cref="FunctionRules"/>; the synthetic cases below show each rule can fail, and that queue/timer functions
/// are held only to the general rules.
/// </summary>
public class FunctionRouteTests
{
    private static readonly IReadOnlyList<FunctionDefinition> Functions = FunctionDefinition.LoadFrom(RepoPaths.FunctionsProject);

    [Fact]
    public void TheSourceTreeDeclaresHttpFunctions()
    {
        Assert.NotEmpty(Functions);
        Assert.Contains(Functions, function => function.IsHttp);
    }

    [Fact]
    public void FunctionJsonFilesSitOnlyInTopLevelFunctionFolders()
    {
        // The csproj copies */function.json; a function.json any deeper would never reach the publish root.
        var misplaced = Directory.EnumerateFiles(RepoPaths.FunctionsProject, FunctionDefinition.FileName, SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(RepoPaths.FunctionsProject, path))
            .Where(relative => relative.Split(Path.DirectorySeparatorChar) is var parts &&
                parts[0] is not ("bin" or "obj") && parts.Length != 2)
            .ToList();
        Assert.Empty(misplaced);
    }

    [Fact]
    public void EveryFunctionObeysTheBindingAndRouteRules()
    {
        var violations = Functions.SelectMany(FunctionRules.Violations).ToList();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public void TimerFoldersAndTimerTriggerAllAgree()
    {
        // The host fires what the folders declare; local mode fires what TimerTrigger.All lists: the same functions,
        // bindings and schedule settings, or one of the two runs something the other does not.
        var folders = Functions.Where(f => f.Bindings.Any(b => FunctionDefinition.IsType(b, "timerTrigger")))
            .Select(f => (f.Name, Binding: FunctionDefinition.Text(Assert.Single(f.Bindings), "name"),
                Schedule: FunctionDefinition.Text(f.Bindings[0], "schedule")))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var inCode = Tracker.Functions.Triggers.TimerTrigger.All
            .Select(t => (Name: t.FunctionName, Binding: (string?)t.Binding, Schedule: (string?)$"%{t.ScheduleAppSetting}%"))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        Assert.NotEmpty(inCode);
        Assert.Equal(inCode, folders);
        // The setting function.json names is the one LifecycleOptions binds (Tracker:Lifecycle:CleanupSchedule).
        Assert.Equal($"{Tracker.Core.Lifecycle.LifecycleOptions.Section}:{nameof(Tracker.Core.Lifecycle.LifecycleOptions.CleanupSchedule)}",
            Tracker.Functions.Triggers.CleanupTrigger.ScheduleAppSetting.Replace("__", ":", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryHttpFunctionHasExactlyOneHttpTriggerAndOneHttpOutput()
    {
        // Spelled out (also part of the rules above) because breaking it silently turns off pass-through.
        foreach (var function in Functions.Where(f => f.IsHttp))
        {
            Assert.Single(function.Bindings, b => FunctionDefinition.Text(b, "direction") == "in" && FunctionDefinition.IsType(b, "httpTrigger"));
            Assert.Single(function.Bindings, b => FunctionDefinition.Text(b, "direction") == "out" && FunctionDefinition.IsType(b, "http"));
            Assert.Equal(2, function.Bindings.Count);
            Assert.False(string.IsNullOrEmpty(FunctionDefinition.Text(function.HttpTrigger!, "authLevel")), $"{function.Name}: authLevel is not set.");
        }
    }

    [Fact]
    public void EveryHttpRouteStartsWithAnAllowListedLiteral()
    {
        // The web UI's read-only catch-all is the one exception (FunctionRules.IsBareCatchAll).
        Assert.Equal("WebUi", Assert.Single(Functions, FunctionRules.IsReadOnlyCatchAll).Name);
        foreach (var function in Functions.Where(f => f.IsHttp && !FunctionRules.IsReadOnlyCatchAll(f)))
        {
            var route = function.Route;
            Assert.False(string.IsNullOrEmpty(route), $"{function.Name} has no route.");
            Assert.False(route.StartsWith('{'), $"{function.Name}: route '{route}' starts with a parameter.");
            Assert.DoesNotMatch(@"^\{\*", route);
            Assert.False(route.StartsWith("admin", StringComparison.OrdinalIgnoreCase) || route.StartsWith("runtime", StringComparison.OrdinalIgnoreCase),
                $"{function.Name}: route '{route}' starts with a reserved prefix.");
            Assert.Contains(FunctionRules.FirstSegment(route), FunctionRules.AllowedFirstSegments, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void NoFunctionIsNamedLikeTheFirstSegmentOfAnHttpRoute()
    {
        var violations = FunctionRules.LayoutViolations(Functions).ToList();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public void FunctionFolderNamesAreValidFunctionNames()
    {
        Assert.All(Functions, function => Assert.True(FunctionRules.IsValidFunctionName(function.Name), function.Name));
    }

    public static TheoryData<string, string, string> BrokenHttpFunctions => new()
    {
        { "CatchAll", Http("\"route\": \"{*path}\""), "bare catch-all" },
        { "ParameterFirst", Http("\"route\": \"{version}/mlflow/{*rest}\""), "literal segment" },
        { "Unlisted", Http("\"route\": \"internal/{*rest}\""), "allow-listed" },
        { "AdminRoute", Http("\"route\": \"admin/things\""), "reserves" },
        { "RuntimeRoute", Http("\"route\": \"runtime/webhooks\""), "reserves" },
        { "NoRoute", Http(""), "explicit route" },
        { "Rooted", Http("\"route\": \"/api/2.0/mlflow/{*rest}\""), "relative" },
        { "NoAuthLevel", Http("\"route\": \"health\"", authLevel: null), "authLevel" },
        { "Bad_Name.x", Http("\"route\": \"health\""), "valid function name" },
        { "host", Http("\"route\": \"health\""), "valid function name" },
        {
            "ExtraBinding",
            """
            { "bindings": [
              { "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "route": "api/2.0/mlflow/{*rest}" },
              { "type": "http", "direction": "out", "name": "res" },
              { "type": "queue", "direction": "out", "name": "msg", "queueName": "q", "connection": "AzureWebJobsStorage" } ] }
            """,
            "exactly one httpTrigger input and one http output"
        },
        {
            "NoHttpOutput",
            """{ "bindings": [ { "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "route": "health" } ] }""",
            "exactly one httpTrigger input and one http output"
        },
    };

    [Theory]
    [MemberData(nameof(BrokenHttpFunctions))]
    public void TheRulesRejectABrokenHttpFunction(string name, string json, string expected)
    {
        var violations = FunctionRules.Violations(FunctionDefinition.Parse(name, json)).ToList();
        Assert.Contains(violations, violation => violation.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TheRulesAcceptACatchAllOnlyForGetAndHead()
    {
        var readOnly = FunctionDefinition.Parse("WebUi", Http("\"route\": \"{*path}\"").Replace("[\"get\", \"post\"]", "[\"get\", \"head\"]", StringComparison.Ordinal));
        var promote = FunctionDefinition.Parse("PromoteModel", """{ "bindings": [ { "name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "q" } ] }""");
        Assert.Empty(FunctionRules.Violations(readOnly));
        Assert.Empty(FunctionRules.LayoutViolations([readOnly, promote]));

        var anyMethod = FunctionDefinition.Parse("WebUi", Http("\"route\": \"{*path}\"").Replace("\"methods\": [\"get\", \"post\"], ", "", StringComparison.Ordinal));
        Assert.Contains(FunctionRules.Violations(anyMethod), v => v.Contains("bare catch-all", StringComparison.Ordinal));
        Assert.Contains(FunctionRules.LayoutViolations([anyMethod, promote]), v => v.Contains("/PromoteModel", StringComparison.Ordinal));
    }

    [Fact]
    public void TheRulesAcceptAWellFormedHttpFunction() =>
        Assert.Empty(FunctionRules.Violations(FunctionDefinition.Parse("MlflowArtifacts", Http("\"route\": \"api/2.0/mlflow-artifacts/{*rest}\""))));

    [Fact]
    public void QueueAndTimerFunctionsAreExemptFromTheHttpRules()
    {
        var queue = FunctionDefinition.Parse("PromoteModel", """
            { "bindings": [ { "name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "model-promotions", "connection": "AzureWebJobsStorage" } ] }
            """);
        var timer = FunctionDefinition.Parse("Cleanup", """
            { "bindings": [ { "name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "0 0 3 * * *" } ] }
            """);
        var fiveFieldTimer = FunctionDefinition.Parse("Cleanup", """
            { "bindings": [ { "name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "0 3 * * *" } ] }
            """);

        Assert.Empty(FunctionRules.Violations(queue));
        Assert.Empty(FunctionRules.Violations(timer));
        Assert.Contains(FunctionRules.Violations(fiveFieldTimer), v => v.Contains("six-field", StringComparison.Ordinal));
        Assert.Empty(FunctionRules.Violations(Timer("\"schedule\": \"%Tracker__Lifecycle__CleanupSchedule%\"")));
        var mlflowApi = FunctionDefinition.Parse("MlflowApi", Http("\"route\": \"api/2.0/mlflow/{*rest}\""));
        Assert.Empty(FunctionRules.LayoutViolations([mlflowApi, queue, timer]));
    }

    [Theory]
    [InlineData("\"schedule\": \"0 0 3 * * *\", \"runOnStartup\": true", "runOnStartup")]
    [InlineData("\"schedule\": \"0 0 3 * * *\", \"runOnStartup\": \"true\"", "runOnStartup")]
    [InlineData("\"schedule\": \"%Tracker__Lifecycle__CleanupSchedule\"", "whole %AppSetting%")]
    [InlineData("\"schedule\": \"0 0 3 * * % Schedule%\"", "whole %AppSetting%")]
    [InlineData("\"schedule\": \"0 0 25 * * *\"", "six-field")]
    [InlineData("\"schedule\": \"every day\"", "six-field")]
    public void TheRulesRejectABrokenTimerFunction(string members, string expected) =>
        Assert.Contains(FunctionRules.Violations(Timer(members)), v => v.Contains(expected, StringComparison.Ordinal));

    private static FunctionDefinition Timer(string members) =>
        FunctionDefinition.Parse("Cleanup", $$"""{ "bindings": [ { "name": "timer", "type": "timerTrigger", "direction": "in", {{members}} } ] }""");

    [Fact]
    public void TheLayoutRuleRejectsAFunctionNamedLikeARoutePrefix()
    {
        var api = FunctionDefinition.Parse("Api", """{ "bindings": [ { "name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "q" } ] }""");
        var mlflowApi = FunctionDefinition.Parse("MlflowApi", Http("\"route\": \"api/2.0/mlflow/{*rest}\""));
        Assert.Contains(FunctionRules.LayoutViolations([mlflowApi, api]), v => v.Contains("'Api'", StringComparison.Ordinal));

        // A literal single-segment route is the function's own invocation path when both are spelled alike.
        var status = FunctionDefinition.Parse("Status", Http("\"route\": \"status\""));
        Assert.NotEmpty(FunctionRules.LayoutViolations([status]));

        // A route with a parameter first would let in every /<FunctionName>.
        var open = FunctionDefinition.Parse("Open", Http("\"route\": \"{name}\""));
        var promote = FunctionDefinition.Parse("PromoteModel", """{ "bindings": [ { "name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "q" } ] }""");
        Assert.Contains(FunctionRules.LayoutViolations([open, promote]), v => v.Contains("/PromoteModel", StringComparison.Ordinal));
    }

    private static string Http(string route, string? authLevel = "anonymous")
    {
        var members = new List<string> { "\"type\": \"httpTrigger\"", "\"direction\": \"in\"", "\"name\": \"req\"", "\"methods\": [\"get\", \"post\"]" };
        if (authLevel is not null)
        {
            members.Add($"\"authLevel\": \"{authLevel}\"");
        }
        if (route.Length > 0)
        {
            members.Add(route);
        }
        return $$"""{ "bindings": [ { {{string.Join(", ", members)}} }, { "type": "http", "direction": "out", "name": "res" } ] }""";
    }
}
