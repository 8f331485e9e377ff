using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Tracker.Core.Auth;
using Tracker.Functions.Admin;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary><c>Tracker.Functions admin …</c>, the first-admin command, against Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AdminCommandTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _prefix = AuthInstance.NewPrefix();
    private readonly List<AuthInstance> _instances = [];

    public void Dispose() => _instances.ForEach(i => i.Dispose());

    private AuthInstance Server()
    {
        var instance = new AuthInstance(azurite, _prefix, TimeProvider.System);
        _instances.Add(instance);
        return instance;
    }

    /// <summary>The real executable, as azd's hook runs it: configuration from the environment only.</summary>
    private Task<(int ExitCode, string Stdout, string Stderr)> RunProcessAsync(params string[] args) =>
        TrackerProcess.RunToEndAsync(azurite, _prefix, args);

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunInProcessAsync(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AdminCommand.RunAsync(args, configuration, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["Tracker:Storage:ConnectionString"] = azurite.ConnectionString,
        ["Tracker:Storage:TablePrefix"] = _prefix,
    };

    [Fact]
    public async Task CreateTokenMakesTheFirstAdminAndPrintsOnlyAWorkingToken()
    {
        var (exit, stdout, stderr) = await RunProcessAsync("admin", "create-token", "--user", "root", "--admin", "--name", "first admin", "--expires-in-days", "7");
        Assert.True(exit == 0, stderr);
        var token = stdout.TrimEnd('\n');
        Assert.DoesNotContain('\n', token);
        Assert.True(TrackerToken.TryParse(token, out var id, out _), $"stdout is not just a token: {stdout}");
        Assert.DoesNotContain(token, stderr);

        var server = Server();
        var signIn = await server.Verifier.VerifyTokenAsync(token);
        Assert.True(signIn.Succeeded, signIn.Failure?.ToString());
        Assert.Equal(("root", true, false), (signIn.User!.UserName, signIn.User.IsAdmin, signIn.User.HasPassword));
        var info = (await server.Store.GetTokenAsync(id))!;
        Assert.Equal("first admin", info.Name);
        Assert.InRange(info.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddDays(6), DateTimeOffset.UtcNow.AddDays(8));

        // Run again (a second `azd up`): the same user, one more token; then revoke the first.
        var again = await RunProcessAsync("admin", "create-token", "--user", "root", "--admin");
        Assert.Equal(0, again.ExitCode);
        Assert.Single(await server.Store.ListUsersAsync());
        Assert.Equal(2, (await server.Store.ListTokensAsync("root")).Count);
        var revoke = await RunProcessAsync("admin", "revoke-token", "--id", id);
        Assert.True(revoke.ExitCode == 0, revoke.Stderr);
        Assert.Equal(SignInFailure.Revoked, (await Server().Verifier.VerifyTokenAsync(token)).Failure);
        Assert.True((await Server().Verifier.VerifyTokenAsync(again.Stdout.Trim())).Succeeded);
    }

    [Fact]
    public async Task AnExistingUserIsPromotedOnlyWhenAsked()
    {
        var server = Server();
        await server.Store.CreateUserAsync("alice", "alice's long password");
        var (exit, stdout, _) = await RunInProcessAsync(Settings(), "create-token", "--user", "alice");
        Assert.Equal(0, exit);
        Assert.False((await server.Verifier.VerifyTokenAsync(stdout.Trim())).User!.IsAdmin);
        Assert.True((await server.Store.GetUserAsync("alice"))!.HasPassword); // left as it was

        Assert.Equal(0, (await RunInProcessAsync(Settings(), "create-token", "--user", "alice", "--admin")).ExitCode);
        Assert.True((await server.Store.GetUserAsync("alice"))!.IsAdmin);
    }

    // How a training job's managed identity (or a person's Entra account) becomes a Tracker user without a stored secret.
    [Fact]
    public async Task LinkEntraMapsAnIdentityToAUserCreatingItIfMissing()
    {
        var server = Server();
        var (tenant, objectId) = (Guid.NewGuid(), Guid.NewGuid());
        string[] link = ["link-entra", "--user", "trainer", "--tenant", tenant.ToString(), "--object-id", objectId.ToString()];

        var (exit, stdout, stderr) = await RunInProcessAsync(Settings(), link);
        Assert.True(exit == 0, stderr);
        Assert.Equal("", stdout);
        var user = await server.Store.FindUserByEntraIdentityAsync(tenant, objectId);
        Assert.Equal(("trainer", false, false), (user?.UserName, user?.IsAdmin, user?.HasPassword));

        // One identity, one user: linking it again (to anyone) is refused; unlinking frees it.
        Assert.Equal(1, (await RunInProcessAsync(Settings(), link)).ExitCode);
        var unlink = await RunInProcessAsync(Settings(), "unlink-entra", "--tenant", tenant.ToString(), "--object-id", objectId.ToString());
        Assert.True(unlink.ExitCode == 0, unlink.Stderr);
        Assert.Null(await server.Store.FindUserByEntraIdentityAsync(tenant, objectId));
    }

    [Theory]
    [InlineData(2, new[] { "link-entra", "--user", "x", "--tenant", "not-a-guid", "--object-id", "7f1c1c6e-8f0b-4c55-a0b1-3c2f5e0d9a11" })]
    [InlineData(2, new[] { "link-entra", "--user", "x", "--tenant", "7f1c1c6e-8f0b-4c55-a0b1-3c2f5e0d9a11" })]
    [InlineData(2, new[] { "link-entra", "--tenant", "7f1c1c6e-8f0b-4c55-a0b1-3c2f5e0d9a11", "--object-id", "7f1c1c6e-8f0b-4c55-a0b1-3c2f5e0d9a11" })]
    [InlineData(1, new[] { "unlink-entra", "--tenant", "7f1c1c6e-8f0b-4c55-a0b1-3c2f5e0d9a11", "--object-id", "7f1c1c6e-8f0b-4c55-a0b1-3c2f5e0d9a11" })]
    [InlineData(2, new string[0])]
    [InlineData(2, new[] { "create-token" })]
    [InlineData(2, new[] { "create-token", "--user" })]
    [InlineData(2, new[] { "create-token", "--user", "x", "--expires-in-days", "0" })]
    [InlineData(2, new[] { "create-token", "--user", "x", "--bogus" })]
    [InlineData(2, new[] { "make-coffee" })]
    [InlineData(1, new[] { "create-token", "--user", "bad name " })]
    [InlineData(1, new[] { "revoke-token", "--id", "nosuchtoken" })]
    public async Task MistakesExitNonZeroWithAMessageAndPrintNothing(int expectedExit, string[] args)
    {
        var (exit, stdout, stderr) = await RunInProcessAsync(Settings(), args);
        Assert.Equal(expectedExit, exit);
        Assert.Equal("", stdout);
        Assert.NotEqual("", stderr.Trim());
    }

    [Fact]
    public async Task WithoutStorageSettingsItSaysSo()
    {
        var (exit, stdout, stderr) = await RunInProcessAsync(new Dictionary<string, string?>(), "create-token", "--user", "root");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Contains("Tracker:Storage", stderr);
    }
}
