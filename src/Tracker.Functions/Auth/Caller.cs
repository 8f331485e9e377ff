using System.Security.Claims;
using Tracker.Core;
using Tracker.Core.Auth;

namespace Tracker.Functions.Auth;

/// <summary>
/// Who sent the request, as <see cref="AuthMiddleware"/> established it; bound to handler parameters. With auth
/// disabled (local runs only) every caller is <see cref="Local"/>, an admin.
/// </summary>
public sealed record Caller(string UserName, bool IsAdmin, bool SignedIn = true)
{
    public const string AdminClaim = "tracker_admin";
    public static readonly Caller Local = new("local", IsAdmin: true, SignedIn: false);

    public static ValueTask<Caller?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<Caller?>(context.Features.Get<Caller>() ?? throw new InvalidOperationException("No caller: AuthMiddleware did not run for this route."));

    public ClaimsPrincipal ToPrincipal(string scheme) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, UserName), new Claim(AdminClaim, IsAdmin ? "true" : "false")], scheme, ClaimTypes.Name, ClaimTypes.Role));

    public static Caller? From(ClaimsPrincipal principal) =>
        principal.Identity is { IsAuthenticated: true, Name: { } name } ? new Caller(name, principal.HasClaim(AdminClaim, "true")) : null;

    /// <summary>
    /// The creator of an experiment or registered model manages it, as in MLflow's auth app, which also grants after
    /// the create succeeded. Idempotent, so a client retrying the create is granted once.
    /// </summary>
    public Task GrantCreatorAsync(AuthStore store, string experimentId, CancellationToken ct) =>
        GrantManageAsync(
            () => store.CreateExperimentPermissionAsync(experimentId, UserName, Permission.Manage, ct),
            () => store.UpdateExperimentPermissionAsync(experimentId, UserName, Permission.Manage, ct));

    public Task GrantModelCreatorAsync(AuthStore store, string name, CancellationToken ct) =>
        GrantManageAsync(
            () => store.CreateRegisteredModelPermissionAsync(name, UserName, Permission.Manage, ct),
            () => store.UpdateRegisteredModelPermissionAsync(name, UserName, Permission.Manage, ct));

    private async Task GrantManageAsync(Func<Task> create, Func<Task> update)
    {
        if (!SignedIn) return;
        try
        {
            await create();
        }
        catch (MlflowException e) when (e.Code == ErrorCode.ResourceAlreadyExists)
        {
            await update();
        }
    }
}
