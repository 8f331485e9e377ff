using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Tracker.Tests.Host;

/// <summary>
/// The function.json rules of the custom-handler reference (§3, §8), as pure checks that return violations, so the
/// rules themselves can be tested on synthetic definitions. HTTP rules apply to functions with an httpTrigger; queue
/// and timer functions only have to be well-formed single-trigger functions.
/// </summary>
internal static partial class FunctionRules
{
    /// <summary>The literal first segments an HTTP route may start with. A new prefix is a deliberate change here.</summary>
    public static readonly IReadOnlyList<string> AllowedFirstSegments = ["api", "ajax-api", "health", "version"];

    /// <summary>The host rejects routes starting with these (they clash with its built-in routes).</summary>
    public static readonly IReadOnlyList<string> ReservedRoutePrefixes = ["admin", "runtime"];

    private static readonly string[] AuthLevels = ["anonymous", "function", "admin"];
    private static readonly string[] KnownMethods = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

    public static IEnumerable<string> Violations(FunctionDefinition function)
    {
        var name = function.Name;
        if (!IsValidFunctionName(name))
        {
            yield return $"{name}: not a valid function name (the host requires ^[a-z][a-z0-9_-]{{0,127}}$, not 'host').";
        }
        if (function.Bindings.Count == 0)
        {
            yield return $"{name}: has no bindings.";
        }
        foreach (var binding in function.Bindings)
        {
            var bindingName = FunctionDefinition.Text(binding, "name");
            if (bindingName is null || !BindingName().IsMatch(bindingName))
            {
                yield return $"{name}: binding name '{bindingName}' is not valid (letters and digits, or $return).";
            }
            if (FunctionDefinition.Text(binding, "direction") is not ("in" or "out" or "inout"))
            {
                yield return $"{name}: binding '{bindingName}' has no direction in/out/inout.";
            }
        }
        var triggers = function.Bindings.Count(binding =>
            FunctionDefinition.Text(binding, "type")?.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase) == true);
        if (triggers != 1)
        {
            yield return $"{name}: has {triggers} trigger bindings; a function has exactly one.";
        }

        var violations = function.IsHttp ? HttpViolations(function) : NonHttpViolations(function);
        foreach (var violation in violations)
        {
            yield return violation;
        }
    }

    /// <summary>Rules over the whole set of functions: names are unique and none is named like an HTTP route prefix.</summary>
    public static IEnumerable<string> LayoutViolations(IReadOnlyList<FunctionDefinition> functions)
    {
        foreach (var duplicate in functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            yield return $"Function names differ only in case: {string.Join(", ", duplicate)}.";
        }
        var routes = functions
            .Where(f => f.IsHttp && f.Route is not null && TryParse(f.Route, out _))
            .Select(f => (Function: f, Route: f.Route!, Pattern: FunctionRouteCoverage.ParseFunctionRoute(f.Route!)))
            .ToList();
        foreach (var function in functions.Where(f => IsValidFunctionName(f.Name)))
        {
            foreach (var route in routes)
            {
                // The host invokes queue/timer functions as POST /<FunctionName> on the same Kestrel server that
                // pass-through requests reach on their original paths: the two namespaces must not meet.
                if (string.Equals(FirstSegment(route.Route), function.Name, StringComparison.OrdinalIgnoreCase))
                {
                    yield return $"Function folder '{function.Name}' is named like the first segment of {route.Function.Name}'s route '{route.Route}'.";
                }
                else if (!IsReadOnly(route.Function) && FunctionRouteCoverage.Covers(route.Pattern, RoutePatternFactory.Parse("/" + function.Name)))
                {
                    yield return $"{route.Function.Name}'s route '{route.Route}' lets in /{function.Name}, the invocation path of function '{function.Name}'.";
                }
            }
        }
    }

    public static bool IsValidFunctionName(string name) => FunctionName().IsMatch(name);

    /// <summary>
    /// A route that is one catch-all parameter (<c>{*path}</c>): the web UI's, which must reach <c>/</c> and the UI's
    /// client-side paths. The host routes by ASP.NET route precedence, so every route with a literal first segment (the
    /// APIs, health, version) still takes its own paths; the catch-all gets the rest. Allowed only for GET and HEAD: the
    /// trigger endpoints it also lets in (<c>/&lt;FunctionName&gt;</c>) take only the host's POST.
    /// </summary>
    public static bool IsBareCatchAll(RoutePattern pattern) =>
        pattern.PathSegments is [{ IsSimple: true, Parts: [RoutePatternParameterPart { IsCatchAll: true }] }];

    /// <summary>An HTTP function that lists its methods, all of them GET or HEAD.</summary>
    public static bool IsReadOnly(FunctionDefinition function) =>
        function.Methods is { Count: > 0 } methods && methods.All(m => m.Equals("get", StringComparison.OrdinalIgnoreCase) || m.Equals("head", StringComparison.OrdinalIgnoreCase));

    /// <summary>The read-only bare catch-all (the web UI's function), which the rules above allow.</summary>
    public static bool IsReadOnlyCatchAll(FunctionDefinition function) =>
        function is { IsHttp: true, Route: { } route } && TryParse(route, out var pattern) && IsBareCatchAll(pattern) && IsReadOnly(function);

    public static string FirstSegment(string route) => route.Split('/')[0];

    private static IEnumerable<string> HttpViolations(FunctionDefinition function)
    {
        var name = function.Name;
        // FunctionMetadataExtensions.IsHttpInAndOutFunction: anything else and the host sends the JSON payload instead.
        var inputs = function.Bindings.Where(b => FunctionDefinition.Text(b, "direction") is "in" or "inout").ToList();
        var outputs = function.Bindings.Where(b => FunctionDefinition.Text(b, "direction") is "out" or "inout").ToList();
        if (inputs.Count != 1 || !FunctionDefinition.IsType(inputs[0], "httpTrigger") ||
            outputs.Count != 1 || !FunctionDefinition.IsType(outputs[0], "http"))
        {
            yield return $"{name}: an HTTP function needs exactly one httpTrigger input and one http output " +
                $"(has {inputs.Count} inputs, {outputs.Count} outputs), or the host stops passing requests through.";
        }

        var trigger = function.HttpTrigger!;
        var authLevel = FunctionDefinition.Text(trigger, "authLevel");
        if (authLevel is null || !AuthLevels.Contains(authLevel, StringComparer.OrdinalIgnoreCase))
        {
            yield return $"{name}: authLevel must be set to anonymous, function or admin (is '{authLevel}').";
        }
        if (trigger["methods"] is not null &&
            (function.Methods is not { Count: > 0 } methods || methods.Any(m => !KnownMethods.Contains(m, StringComparer.OrdinalIgnoreCase))))
        {
            yield return $"{name}: methods must be a non-empty list of HTTP methods.";
        }

        var route = function.Route;
        if (string.IsNullOrWhiteSpace(route))
        {
            // Without a route the host routes the function by its name: /<FunctionName>, the trigger namespace.
            yield return $"{name}: an HTTP function needs an explicit route.";
            yield break;
        }
        if (route.StartsWith('/') || route.StartsWith('~'))
        {
            yield return $"{name}: route '{route}' must be relative (the route prefix is \"\").";
            yield break;
        }
        if (ReservedRoutePrefixes.FirstOrDefault(p => route.StartsWith(p, StringComparison.OrdinalIgnoreCase)) is { } reserved)
        {
            yield return $"{name}: route '{route}' starts with '{reserved}', which the host reserves for its built-in routes.";
        }
        if (!TryParse(route, out var pattern))
        {
            yield return $"{name}: route '{route}' is not a valid route template.";
            yield break;
        }
        var first = pattern.PathSegments.Count > 0 ? pattern.PathSegments[0] : null;
        if (IsBareCatchAll(pattern))
        {
            if (!IsReadOnly(function))
                yield return $"{name}: route '{route}' is a bare catch-all that allows more than GET and HEAD; it would let outside requests reach the trigger endpoints.";
        }
        else if (first is null || !first.IsSimple || first.Parts[0] is not RoutePatternLiteralPart literal)
        {
            yield return $"{name}: route '{route}' must start with a literal segment, not a parameter.";
        }
        else if (!AllowedFirstSegments.Contains(literal.Content, StringComparer.OrdinalIgnoreCase))
        {
            yield return $"{name}: route '{route}' starts with '{literal.Content}', which is not an allow-listed prefix ({string.Join(", ", AllowedFirstSegments)}).";
        }
    }

    private static IEnumerable<string> NonHttpViolations(FunctionDefinition function)
    {
        if (function.Bindings.Any(b => FunctionDefinition.IsType(b, "http")))
        {
            yield return $"{function.Name}: an http output binding without an httpTrigger.";
        }
        foreach (var timer in function.Bindings.Where(b => FunctionDefinition.IsType(b, "timerTrigger")))
        {
            // NCRONTAB has six fields (seconds first); a five-field Unix cron string is a classic mistake. A whole
            // %AppSetting% is resolved by the host from app settings (the infra tests check the setting and its value);
            // hh:mm:ss is the host's TimeSpan form.
            var schedule = FunctionDefinition.Text(timer, "schedule") ?? "";
            if (schedule.StartsWith('%') || schedule.EndsWith('%'))
            {
                if (!AppSettingReference().IsMatch(schedule))
                    yield return $"{function.Name}: timer schedule '{schedule}' must be one whole %AppSetting% reference.";
            }
            else if (!schedule.Contains(':') && Tracker.Core.Lifecycle.LifecycleOptions.ParseSchedule(schedule) is null)
            {
                yield return $"{function.Name}: timer schedule '{schedule}' is not a six-field NCRONTAB expression.";
            }
            // The reference (§3): never in production. It fires on every start and every scale-out of the app.
            if (timer["runOnStartup"] is System.Text.Json.Nodes.JsonValue run && (!run.TryGetValue<bool>(out var on) || on))
            {
                yield return $"{function.Name}: timer sets runOnStartup; it would run on every start and scale-out.";
            }
        }
    }

    private static bool TryParse(string route, out RoutePattern pattern)
    {
        try
        {
            pattern = FunctionRouteCoverage.ParseFunctionRoute(route);
            return true;
        }
        catch (RoutePatternException)
        {
            pattern = null!;
            return false;
        }
    }

    // Utility.FunctionNameValidationRegex in azure-functions-host.
    [GeneratedRegex(@"^[a-z][a-z0-9_\-]{0,127}$(?<!^host$)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FunctionName();

    [GeneratedRegex(@"^%[A-Za-z0-9_]+%$", RegexOptions.CultureInvariant)]
    private static partial Regex AppSettingReference();

    // Utility.BindingNameValidationRegex in azure-functions-host.
    [GeneratedRegex(@"^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$", RegexOptions.CultureInvariant)]
    private static partial Regex BindingName();
}
