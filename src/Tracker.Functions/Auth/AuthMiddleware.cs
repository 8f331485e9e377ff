using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Auth;

/// <summary>
/// The one place every route's <see cref="RouteAccess"/> is enforced, after routing and before any handler: who is
/// calling (401 without a valid credential), then whether they may (403). A route that declares nothing is refused.
/// Admins pass every check, as in MLflow, even where a permission of theirs says NO_PERMISSIONS.
/// </summary>
public static partial class AuthMiddleware
{
    public static WebApplication UseTrackerAuth(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Disabled)
        {
            // First: a client refused for guessing costs no verification (a password is a PBKDF2 run) at all.
            app.Use(RefuseThrottledClientsAsync);
            // Explicitly here, after the host check and routing: WebApplication would otherwise put it first of all.
            app.UseAuthentication();
        }
        app.Use(CheckAccessAsync);
        return app;
    }

    private static bool IsFunctionsHostRoute(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<RouteAccess>()?.Rule == AccessRule.FunctionsHost;

    public static MlflowException Denied() => new(ErrorCode.PermissionDenied, "Permission denied.");

    private static async Task CheckAccessAsync(HttpContext context, RequestDelegate next)
    {
        // No route endpoint: routing answers 404, or runs its own 405 endpoint (a plain Endpoint); nothing to protect.
        if (context.GetEndpoint() is not RouteEndpoint endpoint)
        {
            await next(context);
            return;
        }
        var access = endpoint.Metadata.GetMetadata<RouteAccess>()
                     ?? throw new MlflowException(ErrorCode.PermissionDenied, "This route declares no permission, so nobody may call it.");
        if (access.Rule == AccessRule.FunctionsHost)
        {
            await next(context);
            return;
        }
        var disabled = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.Disabled;
        if (access.Rule == AccessRule.Public)
        {
            // A credential sent here was checked all the same (a password is a PBKDF2 run): its failure counts toward
            // the throttle, or a public route would be a free place to guess.
            if (!disabled && context.Request.Headers.Authorization.Count > 0 && (await context.AuthenticateAsync()).Failure is not null)
                context.RequestServices.GetRequiredService<SignInThrottle>().RecordFailure(ClientAddress(context));
            await next(context);
            return;
        }

        var caller = disabled ? Caller.Local : await SignInAsync(context);
        if (caller is null) return; // answered 401
        context.Features.Set(caller);
        if (!caller.IsAdmin && !await IsAllowedAsync(context, access, caller)) throw Denied();
        await next(context);
    }

    private static async Task RefuseThrottledClientsAsync(HttpContext context, RequestDelegate next)
    {
        // Under the host, failures of requests without X-Forwarded-For count against loopback, the host's own address.
        if (!IsFunctionsHostRoute(context) && context.RequestServices.GetRequiredService<SignInThrottle>().IsRefused(ClientAddress(context), out var retryAfter))
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await MlflowJson.Error(ErrorCode.RequestLimitExceeded, "Too many failed sign-ins from this client. Retry later.").ExecuteAsync(context);
            return;
        }
        await next(context);
    }

    private static async Task<Caller?> SignInAsync(HttpContext context)
    {
        var throttle = context.RequestServices.GetRequiredService<SignInThrottle>();
        var client = ClientAddress(context);
        // The authentication middleware's result, which the handlers keep for the request: nothing is verified twice.
        var result = await context.AuthenticateAsync();
        if (result.Succeeded && Caller.From(result.Principal) is { } caller) return caller;

        string message;
        if (result.Failure is { } failure)
        {
            throttle.RecordFailure(client);
            var (reason, who) = failure is SignInFailedException f ? (f.Reason.ToString(), f.Who) : (failure.GetType().Name, null);
            LogSignInFailed(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Tracker.Auth"), who ?? "(unknown)", reason, client);
            message = "Invalid credentials.";
        }
        else
        {
            message = "You are not authenticated. Send a Tracker token (MLFLOW_TRACKING_TOKEN), a user name and password or token " +
                      "(MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD), or a Microsoft Entra ID token.";
        }
        context.Response.Headers.WWWAuthenticate = TrackerCredentialsHandler.Challenges;
        await MlflowJson.Error(ErrorCode.Unauthenticated, message).ExecuteAsync(context);
        return null;
    }

    private static async Task<bool> IsAllowedAsync(HttpContext context, RouteAccess access, Caller caller)
    {
        switch (access.Rule)
        {
            case AccessRule.SignedIn:
                return true;
            case AccessRule.Admin:
                return false;
            case AccessRule.SelfOrAdmin:
                // No user named: the request is about the caller (tokens/create); a handler that needs one refuses it.
                var named = (await RequestArgs.ForRequestAsync(context)).String("username");
                return string.IsNullOrEmpty(named) || string.Equals(AuthStore.TryCanonical(named), caller.UserName, StringComparison.Ordinal);
            case AccessRule.Permission:
                var permissions = context.RequestServices.GetRequiredService<PermissionLookup>();
                foreach (var target in await access.On!.ResolveAsync(context))
                {
                    var held = target.Kind == TargetKind.Experiment
                        ? await permissions.ForExperimentAsync(caller.UserName, target.Id, context.RequestAborted)
                        : await permissions.ForRegisteredModelAsync(caller.UserName, target.Id, context.RequestAborted);
                    if (held < access.Level) return false;
                }
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Whom to throttle. Under the Functions host every request comes from the host on loopback; the client's address
    /// is the one Azure's front end appended last to X-Forwarded-For (earlier entries are the client's own to write).
    /// </summary>
    private static string ClientAddress(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || IPAddress.IsLoopback(remote))
        {
            var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
            var last = forwarded.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            if (last is not null && context.RequestServices.GetRequiredService<IOptions<HttpOptions>>().Value.TrustForwardedHost) return last;
        }
        return remote?.ToString() ?? "unknown";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sign-in failed for {Who}: {Reason} (client {Client}).")]
    private static partial void LogSignInFailed(ILogger logger, string who, string reason, string client);
}
