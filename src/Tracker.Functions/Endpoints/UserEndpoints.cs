using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow's user API (mlflow/server/auth/__init__.py, with the verbs its AuthServiceClient uses), so admin scripts and
/// <c>mlflow.server.get_app_client("basic-auth")</c> work unchanged. Admins manage users; a user may read themselves and
/// set their own password, as MLflow's validators allow.
/// </summary>
public static class UserEndpoints
{
    public static RouteGroupBuilder MapUserEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/users/create", CreateUser).RequiresAdmin();
        api.MapGet("/users/get", GetUser).RequiresSelfOrAdmin();
        api.MapPatch("/users/update-password", UpdatePassword).RequiresSelfOrAdmin();
        api.MapPatch("/users/update-admin", UpdateAdmin).RequiresAdmin();
        api.MapDelete("/users/delete", DeleteUser).RequiresAdmin();
        return api;
    }

    /// <summary>MLflow requires a password here (the admin command makes token-only users).</summary>
    public static async Task<IResult> CreateUser(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var user = await store.CreateUserAsync(args.RequiredString("username"), args.RequiredString("password"), ct: ct);
        return UserResult(user, new UserPermissions([], []));
    }

    public static async Task<IResult> GetUser(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var user = await store.RequireUserAsync(args.RequiredString("username"), ct);
        return UserResult(user, await store.ListPermissionsAsync(user.UserName, ct));
    }

    public static async Task<IResult> UpdatePassword(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        await store.UpdatePasswordAsync(args.RequiredString("username"), args.RequiredString("password"), ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> UpdateAdmin(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        var userName = args.RequiredString("username");
        var isAdmin = args.Bool("is_admin") ?? throw MlflowException.MissingParameter(args.Qualify("is_admin"));
        await store.UpdateAdminAsync(userName, isAdmin, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteUser(RequestArgs args, AuthStore store, CancellationToken ct)
    {
        await store.DeleteUserAsync(args.RequiredString("username"), ct);
        return MlflowJson.Empty();
    }

    private static IResult UserResult(AuthUser user, UserPermissions permissions) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("user");
        w.WriteUser(user, permissions);
        w.WriteEndObject();
    });
}
