using Tracker.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Tracker.Tests.Host;

/// <summary>
/// The handler's endpoints against the function routes (reference §3): every API endpoint is reachable from outside
/// through exactly one function, with its methods allowed; no function is dead; and the trigger endpoints
/// (<c>POST /&lt;FunctionName&gt;</c>, called only by the host) are never reachable through an HTTP function route.
/// </summary>
public class RouteCoverageTests(TrackerAppFactory factory) : IClassFixture<TrackerAppFactory>
{
    private static readonly IReadOnlyList<FunctionDefinition> Functions = FunctionDefinition.LoadFrom(RepoPaths.FunctionsProject);

    private static readonly IReadOnlyList<HttpFunction> HttpFunctions = Functions
        .Where(f => f.IsHttp)
        .Select(f => new HttpFunction(f, FunctionRouteCoverage.ParseFunctionRoute(f.Route ?? throw new InvalidOperationException($"{f.Name} has no route."))))
        .ToList();

    [Fact]
    public void TheAppEndpointsAreEnumerated()
    {
        // Guards the checks below against passing on an empty list.
        var endpoints = AppEndpoints();
        Assert.Contains(endpoints, e => e.Pattern.RawText == "/api/2.0/mlflow/runs/create");
        Assert.Contains(endpoints, e => e.Pattern.RawText == "/ajax-api/2.0/mlflow/runs/create");
        Assert.Contains(endpoints, e => e.Pattern.RawText == "/health");
    }

    [Fact]
    public void TheReadinessProbeIsTheWebUiPage()
    {
        // GET / is both the host's probe and the UI's index page (WebUiEndpoints), so it is reachable from outside, and
        // only through the UI's read-only function.
        var probe = Assert.Single(AppEndpoints(), IsReadinessProbe);
        Assert.Equal(["GET"], probe.Methods);
        Assert.Equal("WebUi", Assert.Single(Reaching(probe)).Function.Name);
    }

    [Fact]
    public void EveryApiEndpointIsReachableThroughExactlyOneFunction()
    {
        var problems = new List<string>();
        foreach (var endpoint in AppEndpoints().Where(e => !IsTriggerEndpoint(e)))
        {
            var covering = Reaching(endpoint);
            if (covering.Count != 1)
            {
                problems.Add($"{endpoint} is reachable through {covering.Count} functions ({string.Join(", ", covering)}).");
            }
            else if (!FunctionRouteCoverage.AllowsMethods(covering[0].Function.Methods, endpoint.Methods))
            {
                problems.Add($"{endpoint}: {covering[0]} allows only [{string.Join(", ", covering[0].Function.Methods!)}].");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void EveryHttpFunctionReachesAnAppEndpoint()
    {
        var endpoints = AppEndpoints();
        var dead = HttpFunctions.Where(f => !endpoints.Any(e => FunctionRouteCoverage.Covers(f.Route, e.Pattern))).ToList();
        Assert.True(dead.Count == 0, $"Functions reaching no endpoint: {string.Join(", ", dead)}.");
    }

    [Fact]
    public void TriggerEndpointsAreNotReachableThroughHttpFunctions()
    {
        var endpoints = AppEndpoints();
        var triggerEndpoints = endpoints.Where(IsTriggerEndpoint).ToHashSet();
        var reachable = endpoints.Where(e => HttpFunctions.Any(f => FunctionRouteCoverage.Covers(f.Route, e.Pattern) &&
                                                                  FunctionRouteCoverage.AllowsMethods(f.Function.Methods, e.Methods))).ToHashSet();
        Assert.NotEmpty(reachable);
        Assert.Empty(triggerEndpoints.Intersect(reachable));

        // The paths the host would invoke each function on, whether or not the handler maps them yet.
        var exposed = Functions
            .SelectMany(function => HttpFunctions
                .Where(f => FunctionRouteCoverage.Covers(f.Route, RoutePatternFactory.Parse("/" + function.Name)) &&
                            FunctionRouteCoverage.AllowsMethods(f.Function.Methods, [HttpMethods.Post]))
                .Select(f => $"/{function.Name} (invocation path of {function.Name}) is reachable through {f}."))
            .ToList();
        Assert.True(exposed.Count == 0, string.Join("\n", exposed));
    }

    [Fact]
    public void EveryQueueOrTimerFunctionHasItsTriggerEndpoint()
    {
        var endpoints = AppEndpoints();
        foreach (var function in Functions.Where(f => !f.IsHttp))
        {
            Assert.Contains(endpoints, e => IsTriggerEndpoint(e) &&
                string.Equals(e.Pattern.RawText, "/" + function.Name, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Theory]
    [InlineData("api/2.0/mlflow/{*rest}", "/api/2.0/mlflow/runs/create", true)]
    [InlineData("api/2.0/mlflow/{*rest}", "/API/2.0/MLflow/runs/create", true)]
    [InlineData("api/2.0/mlflow/{*rest}", "/api/2.0/mlflow/runs/{id}", true)]
    [InlineData("api/2.0/mlflow/{*rest}", "/ajax-api/2.0/mlflow/runs/create", false)]
    [InlineData("api/2.0/mlflow/{*rest}", "/api/2.0/mlflow-artifacts/artifacts", false)]
    [InlineData("api/2.0/mlflow/{*rest}", "/api/2.0", false)]
    [InlineData("health", "/health", true)]
    [InlineData("health", "/Health", true)]
    [InlineData("health", "/healthz", false)]
    [InlineData("health", "/health/deep", false)]
    [InlineData("health", "/", false)]
    [InlineData("get-artifact/{id}", "/get-artifact/x", true)]
    [InlineData("get-artifact/{id}", "/get-artifact", false)]
    [InlineData("{*path}", "/PromoteModel", true)]
    [InlineData("{name}", "/PromoteModel", true)]
    public void CoverageFollowsTheFunctionRouteTemplate(string functionRoute, string appRoute, bool covered) =>
        Assert.Equal(covered, FunctionRouteCoverage.Covers(FunctionRouteCoverage.ParseFunctionRoute(functionRoute), RoutePatternFactory.Parse(appRoute)));

    [Theory]
    [InlineData(null, null, true)]
    [InlineData("get,post", "POST", true)]
    [InlineData("get,post", "GET,POST", true)]
    [InlineData("get", "POST", false)]
    [InlineData("get,post", null, false)]
    public void MethodsMustBeWithinTheFunctionList(string? functionMethods, string? appMethods, bool allowed) =>
        Assert.Equal(allowed, FunctionRouteCoverage.AllowsMethods(functionMethods?.Split(','), appMethods?.Split(',')));

    private IReadOnlyList<AppEndpoint> AppEndpoints() =>
        factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => new AppEndpoint(e.RoutePattern, e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.ToList()))
            .ToList();

    private static bool IsReadinessProbe(AppEndpoint endpoint) => endpoint.Pattern.PathSegments.Count == 0;

    /// <summary>
    /// The functions whose route the host picks for the endpoint's paths: those covering it, where a route with a
    /// literal first segment wins over the web UI's bare catch-all (ASP.NET route precedence, which the host routes by).
    /// </summary>
    private static List<HttpFunction> Reaching(AppEndpoint endpoint)
    {
        var covering = HttpFunctions.Where(f => FunctionRouteCoverage.Covers(f.Route, endpoint.Pattern)).ToList();
        return covering.Any(f => !FunctionRules.IsBareCatchAll(f.Route)) ? covering.Where(f => !FunctionRules.IsBareCatchAll(f.Route)).ToList() : covering;
    }

    /// <summary><c>POST /&lt;Name&gt;</c> for a function folder <c>Name</c>: how the host invokes queue and timer functions.</summary>
    private static bool IsTriggerEndpoint(AppEndpoint endpoint) =>
        endpoint.Pattern.PathSegments is [{ IsSimple: true, Parts: [RoutePatternLiteralPart literal] }] &&
        Functions.Any(f => string.Equals(f.Name, literal.Content, StringComparison.OrdinalIgnoreCase)) &&
        (endpoint.Methods is null || endpoint.Methods.Contains(HttpMethods.Post, StringComparer.OrdinalIgnoreCase));

    private sealed record AppEndpoint(RoutePattern Pattern, IReadOnlyList<string>? Methods)
    {
        public override string ToString() => $"{(Methods is null ? "*" : string.Join('|', Methods))} {Pattern.RawText}";
    }

    private sealed record HttpFunction(FunctionDefinition Function, RoutePattern Route)
    {
        public override string ToString() => $"{Function.Name} ({Function.Route})";
    }
}
