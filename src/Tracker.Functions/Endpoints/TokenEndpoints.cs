using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// Tracker's own token API (MLflow has none): a user creates, lists and revokes their own tokens; an admin anyone's.
/// A token's text is answered once, by <c>create</c>; lists and revocations show only its public facts.
/// </summary>
public static class TokenEndpoints
{
    public const string Root = "/api/2.0/tracker/tokens";
    public const int MaxExpiresInDays = 3650;

    public static IEndpointRouteBuilder MapTokenEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Root);
        api.MapPost("/create", CreateToken).RequiresSelfOrAdmin();
        api.MapGet("/list", ListTokens).RequiresSelfOrAdmin();
        // Whose token it is is known only once it is read, so the handler checks the owner.
        api.MapPost("/revoke", RevokeToken).RequiresSignIn();
        return app;
    }

    /// <summary><c>{name, expires_in_days?, username?}</c>: <c>username</c> other than the caller's is for admins only.</summary>
    public static async Task<IResult> CreateToken(RequestArgs args, Caller caller, AuthStore store, TimeProvider time, CancellationToken ct)
    {
        var owner = args.String("username") is { Length: > 0 } named ? named : caller.UserName;
        var name = args.RequiredString("name");
        DateTimeOffset? expiresAt = null;
        if (args.Int64("expires_in_days") is { } days)
        {
            if (days is < 1 or > MaxExpiresInDays)
                throw MlflowException.InvalidParameter($"expires_in_days must be a whole number of days from 1 to {MaxExpiresInDays}, got {days}.");
            expiresAt = time.GetUtcNow().AddDays(days);
        }
        var created = await store.CreateTokenAsync(owner, name, expiresAt, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteString("token", created.Token);
            w.WriteStartObject("token_info");
            w.WriteTokenInfo(created.Info);
            w.WriteEndObject();
        });
    }

    /// <summary><c>?username=</c>: the user's tokens, revoked and expired ones included, newest first.</summary>
    public static async Task<IResult> ListTokens(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var user = await store.RequireUserAsync(args.RequiredString("username"), ct);
        var tokens = await store.ListTokensAsync(user.UserName, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartArray("tokens");
            foreach (var token in tokens)
            {
                w.WriteStartObject();
                w.WriteTokenInfo(token);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary><c>{token_id}</c>: by its owner or an admin. Revoking a revoked token again is a no-op.</summary>
    public static async Task<IResult> RevokeToken(RequestArgs args, Caller caller, AuthStore store, CancellationToken ct)
    {
        var id = args.RequiredString("token_id");
        var token = await store.GetTokenAsync(id, ct) ?? throw MlflowException.NotFound($"Token with id={Echo.Truncate(id)} not found");
        if (!caller.IsAdmin && token.Owner != caller.UserName) throw AuthMiddleware.Denied();
        var revoked = await store.RevokeTokenAsync(id, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("token_info");
            w.WriteTokenInfo(revoked);
            w.WriteEndObject();
        });
    }
}
