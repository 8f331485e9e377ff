using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Tracker.Core.Auth;

namespace Tracker.Functions.Auth;

public static class AuthenticationExtensions
{
    public const string SelectorScheme = "Tracker.Credentials";
    public const string EntraScheme = "Entra";

    /// <summary>
    /// Who is calling: Tracker tokens and passwords (<see cref="TrackerCredentialsHandler"/>) and, when a tenant is
    /// configured, Microsoft Entra ID tokens through the framework's JWT bearer handler. A bearer token shaped like a
    /// JWT goes to Entra, anything else to Tracker's own handler.
    /// </summary>
    public static WebApplicationBuilder AddTrackerAuthentication(this WebApplicationBuilder builder)
    {
        RefuseAuthOffBeyondLoopback(builder);
        builder.Services.AddTrackerAuth();
        builder.Services.AddSingleton<PermissionLookup>();
        builder.Services.AddSingleton<SignInThrottle>();
        // Off (loopback only): no authentication at all, so nothing reads a credential.
        if (builder.Configuration.GetValue<bool>($"{AuthOptions.Section}:Disabled")) return builder;
        // The framework logs each failed sign-in at Information; AuthMiddleware logs it once, with the reason.
        builder.Logging.AddFilter($"{typeof(TrackerCredentialsHandler).Namespace}.{nameof(TrackerCredentialsHandler)}", LogLevel.Warning);
        var entra = !string.IsNullOrWhiteSpace(builder.Configuration[$"{AuthOptions.Section}:Entra:TenantId"]);
        var authentication = builder.Services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, null, o => o.ForwardDefaultSelector = context =>
                entra && IsJwtBearer(context.Request) ? EntraScheme : TrackerCredentialsHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TrackerCredentialsHandler>(TrackerCredentialsHandler.SchemeName, null);
        if (entra)
        {
            authentication.AddJwtBearer(EntraScheme, _ => { });
            builder.Services.AddOptions<JwtBearerOptions>(EntraScheme).Configure<IOptions<AuthOptions>>((jwt, auth) => ConfigureEntra(jwt, auth.Value.Entra));
        }
        return builder;
    }

    private static bool IsJwtBearer(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.AsSpan(7).Count('.') == 2;
    }

    private static void ConfigureEntra(JwtBearerOptions jwt, EntraOptions entra)
    {
        jwt.MetadataAddress = entra.Metadata;
        jwt.RequireHttpsMetadata = new Uri(entra.Metadata).Scheme == Uri.UriSchemeHttps || !IsLoopbackUrl(entra.Metadata);
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidAudiences = entra.Audiences,
            ValidIssuers = entra.ValidIssuers,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromMinutes(2),
        };
        jwt.Events = new JwtBearerEvents
        {
            // A valid token of the tenant is not enough: its identity must be linked to a Tracker user.
            OnTokenValidated = async context =>
            {
                var tid = context.Principal?.FindFirst("tid")?.Value;
                var oid = context.Principal?.FindFirst("oid")?.Value;
                if (!string.Equals(tid, entra.TenantId, StringComparison.OrdinalIgnoreCase) || !Guid.TryParse(tid, out var tenant) || !Guid.TryParse(oid, out var objectId))
                {
                    context.Fail(new SignInFailedException(SignInFailure.UnknownUser, oid));
                    return;
                }
                var verifier = context.HttpContext.RequestServices.GetRequiredService<CredentialVerifier>();
                var result = await verifier.ResolveEntraAsync(tenant, objectId, context.HttpContext.RequestAborted);
                if (!result.Succeeded)
                {
                    context.Fail(new SignInFailedException(result.Failure!.Value, $"entra:{objectId}"));
                    return;
                }
                context.Principal = new Caller(result.User!.UserName, result.User.IsAdmin).ToPrincipal(EntraScheme);
            },
        };
    }

    /// <summary>
    /// Auth may be off only where nobody else can connect (security baseline; the README's local set-up): every address
    /// Tracker listens on must be loopback, and never under the Functions host, whose callers are the internet's.
    /// </summary>
    private static void RefuseAuthOffBeyondLoopback(WebApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue<bool>($"{AuthOptions.Section}:Disabled")) return;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT")))
            throw new InvalidOperationException($"{AuthOptions.Section}:Disabled is refused under the Functions host: a deployed Tracker always requires credentials.");
        var urls = (builder.Configuration["urls"] ?? Http.HttpServiceCollectionExtensions.DefaultLocalUrl)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"] ?? ""));
        foreach (var url in urls)
            if (!IsLoopbackUrl(url))
                throw new InvalidOperationException(
                    $"{AuthOptions.Section}:Disabled is allowed only on loopback addresses, but Tracker would listen on '{url}'. Listen on 127.0.0.1 or turn auth on.");
    }

    private static bool IsLoopbackUrl(string url)
    {
        // Kestrel's wildcards ("*", "+") do not parse as URIs' hosts; they are not loopback either.
        if (!Uri.TryCreate(url.Replace("://*", "://wildcard.invalid").Replace("://+", "://wildcard.invalid"), UriKind.Absolute, out var uri)) return false;
        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
