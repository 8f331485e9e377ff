using Tracker.Core.Auth;

namespace Tracker.Functions.Auth;

public enum AccessRule
{
    /// <summary>No credential needed: health, version and the Functions host's readiness probe.</summary>
    Public,
    /// <summary>Any signed-in caller: creating an experiment, searches (whose results are filtered to what the caller may read).</summary>
    SignedIn,
    /// <summary>The user named in the request (<c>username</c>; the caller when it names none), or an admin.</summary>
    SelfOrAdmin,
    Admin,
    /// <summary>A permission on the experiment or registered model the request names (<see cref="RouteAccess.On"/>).</summary>
    Permission,
    /// <summary>
    /// Only the Functions host, invoking a queue or timer function (<c>POST /&lt;FunctionName&gt;</c>): no user sign-in,
    /// no sign-in throttle. The trigger endpoint checks the caller itself (Triggers/TriggerEndpoints).
    /// </summary>
    FunctionsHost,
}

/// <summary>
/// Endpoint metadata: what a caller needs to reach a route, declared next to its <c>Map…</c> call (security baseline
/// §1.6, MLflow's auth app keeps the same table from each RPC to its validator). <see cref="AuthMiddleware"/> enforces it
/// in one place; a route without a declaration is refused, so a route added later is closed until it is classified.
/// </summary>
public sealed record RouteAccess(AccessRule Rule, Permission Level = default, Resource? On = null)
{
    public override string ToString() => Rule == AccessRule.Permission ? $"{Level} on {On}" : Rule.ToString();
}

public static class RouteAccessExtensions
{
    public static TBuilder Public<TBuilder>(this TBuilder route) where TBuilder : IEndpointConventionBuilder =>
        route.WithMetadata(new RouteAccess(AccessRule.Public));

    public static TBuilder RequiresSignIn<TBuilder>(this TBuilder route) where TBuilder : IEndpointConventionBuilder =>
        route.WithMetadata(new RouteAccess(AccessRule.SignedIn));

    public static TBuilder RequiresSelfOrAdmin<TBuilder>(this TBuilder route) where TBuilder : IEndpointConventionBuilder =>
        route.WithMetadata(new RouteAccess(AccessRule.SelfOrAdmin));

    public static TBuilder RequiresAdmin<TBuilder>(this TBuilder route) where TBuilder : IEndpointConventionBuilder =>
        route.WithMetadata(new RouteAccess(AccessRule.Admin));

    /// <summary>The caller needs <paramref name="level"/> on the resource <paramref name="on"/> finds in the request.</summary>
    public static TBuilder Requires<TBuilder>(this TBuilder route, Permission level, Resource on) where TBuilder : IEndpointConventionBuilder =>
        route.WithMetadata(new RouteAccess(AccessRule.Permission, level, on));
}
