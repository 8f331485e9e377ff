using Microsoft.AspNetCore.Routing.Patterns;

namespace Tracker.Tests.Host;

/// <summary>
/// Which handler paths an HTTP function's route lets in from outside. With <c>routePrefix: ""</c> and pass-through
/// the host hands the request over on its original path, so a function route covers exactly the handler paths its
/// template matches: <c>api/2.0/mlflow/{*rest}</c> everything under <c>/api/2.0/mlflow/</c>, a literal route such as
/// <c>health</c> only <c>/health</c>. Both sides are ASP.NET route templates (the host routes with ASP.NET Core), and
/// matching is case-insensitive on both, as it is in the host and in Kestrel's routing.
/// </summary>
internal static class FunctionRouteCoverage
{
    public static RoutePattern ParseFunctionRoute(string route) => RoutePatternFactory.Parse(route);

    /// <summary>
    /// True when some request path matched by <paramref name="appRoute"/> is let in by <paramref name="functionRoute"/>.
    /// A function parameter segment matches any one app segment; an app parameter segment is matched only by a function
    /// parameter or catch-all (no literal guesses). Templates this model does not understand fail loudly.
    /// </summary>
    public static bool Covers(RoutePattern functionRoute, RoutePattern appRoute)
    {
        var function = functionRoute.PathSegments;
        var app = appRoute.PathSegments;
        for (var i = 0; i < function.Count; i++)
        {
            var segment = Single(function[i], functionRoute);
            if (segment is RoutePatternParameterPart { IsCatchAll: true })
            {
                return true;
            }
            if (i >= app.Count)
            {
                return false;
            }
            var appSegment = Single(app[i], appRoute);
            var matches = (segment, appSegment) switch
            {
                (RoutePatternLiteralPart f, RoutePatternLiteralPart a) => string.Equals(f.Content, a.Content, StringComparison.OrdinalIgnoreCase),
                (RoutePatternParameterPart, _) => true,
                _ => false,
            };
            if (!matches)
            {
                return false;
            }
        }
        return function.Count == app.Count;
    }

    /// <summary>Every method of the app endpoint (null: any method) passes the function's list (null: no restriction).</summary>
    public static bool AllowsMethods(IReadOnlyList<string>? functionMethods, IReadOnlyList<string>? appMethods)
    {
        if (functionMethods is null)
        {
            return true;
        }
        return appMethods is not null &&
            appMethods.All(method => functionMethods.Contains(method, StringComparer.OrdinalIgnoreCase));
    }

    private static RoutePatternPart Single(RoutePatternPathSegment segment, RoutePattern pattern) =>
        segment.IsSimple && segment.Parts[0] is RoutePatternLiteralPart or RoutePatternParameterPart
            ? segment.Parts[0]
            : throw new NotSupportedException(
                $"Route '{pattern.RawText}' has a complex segment; extend {nameof(FunctionRouteCoverage)} before using one.");
}
