using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The cached effective permission: a grant written through the same instance's store applies to the next lookup, and
/// writing grants (every experiment's creation does) leaves cached credentials alone.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PermissionLookupTests(AzuriteFixture azurite) : IDisposable
{
    private readonly AuthInstance _auth = new(azurite, AuthInstance.NewPrefix(), TimeProvider.System);
    private AuthStore Store => _auth.Store;

    public void Dispose() => _auth.Dispose();

    private PermissionLookup NewLookup() => new(Store, Options.Create(new AuthOptions { CredentialCacheSeconds = 30, DefaultPermission = "READ" }));

    [Fact]
    public async Task AnExperimentGrantAppliesAtOnceThoughTheUsersGrantsWereCached()
    {
        await Store.CreateUserAsync("bob", null);
        using var lookup = NewLookup();
        Assert.Equal(Permission.Read, await lookup.ForExperimentAsync("bob", "5"));

        await Store.CreateExperimentPermissionAsync("5", "bob", Permission.NoPermissions);
        Assert.Equal(Permission.NoPermissions, await lookup.ForExperimentAsync("bob", "5"));
        Assert.False((await lookup.ExperimentReaderAsync("bob"))("5"));

        await Store.UpdateExperimentPermissionAsync("5", "bob", Permission.Edit);
        Assert.Equal(Permission.Edit, await lookup.ForExperimentAsync("bob", "5"));

        await Store.DeleteExperimentPermissionAsync("5", "bob");
        Assert.Equal(Permission.Read, await lookup.ForExperimentAsync("bob", "5"));
    }

    [Fact]
    public async Task ARegisteredModelGrantAppliesAtOnce()
    {
        await Store.CreateUserAsync("bob", null);
        using var lookup = NewLookup();
        Assert.Equal(Permission.Read, await lookup.ForRegisteredModelAsync("bob", "churn"));

        await Store.CreateRegisteredModelPermissionAsync("churn", "bob", Permission.Manage);
        Assert.Equal(Permission.Manage, await lookup.ForRegisteredModelAsync("bob", "churn"));

        await Store.DeleteRegisteredModelPermissionAsync("churn", "bob");
        Assert.Equal(Permission.Read, await lookup.ForRegisteredModelAsync("bob", "churn"));
    }

    [Fact]
    public async Task WritingGrantsKeepsVerifiedCredentialsCached()
    {
        await Store.CreateUserAsync("bob", null);
        var token = (await Store.CreateTokenAsync("bob", "test")).Token;
        Assert.True((await _auth.Verifier.VerifyTokenAsync(token)).Succeeded);

        await Store.CreateExperimentPermissionAsync("7", "bob", Permission.Manage);
        await Store.UpdateExperimentPermissionAsync("7", "bob", Permission.Edit);

        Assert.Equal(0, await AuthInstance.CountRequestsAsync(async () => Assert.True((await _auth.Verifier.VerifyTokenAsync(token)).Succeeded)));
    }

    [Fact]
    public async Task AGrantOverridesTheDefaultAndAUsersGrantsAreReadOnce()
    {
        await Store.CreateUserAsync("ann", null);
        await Store.CreateExperimentPermissionAsync("7", "ann", Permission.NoPermissions);
        await Store.CreateExperimentPermissionAsync("8", "ann", Permission.Manage);
        await Store.CreateRegisteredModelPermissionAsync("model", "ann", Permission.Edit);
        using var lookup = NewLookup();

        Assert.Equal(Permission.NoPermissions, await lookup.ForExperimentAsync("ann", "7"));
        Assert.Equal(0, await AuthInstance.CountRequestsAsync(async () =>
        {
            Assert.Equal(Permission.Manage, await lookup.ForExperimentAsync("ann", "8"));
            Assert.Equal(Permission.Read, await lookup.ForExperimentAsync("ann", "9"));
            Assert.Equal(Permission.Edit, await lookup.ForRegisteredModelAsync("ann", "model"));
            Assert.Equal(Permission.Read, await lookup.ForRegisteredModelAsync("ann", "other"));
            var canRead = await lookup.ExperimentReaderAsync("ann");
            Assert.False(canRead("7"));
            Assert.True(canRead("8"));
            Assert.True(canRead("9"));
        }));
    }

    [Fact]
    public async Task WithNoPermissionsAsTheDefaultOnlyGrantsOpenAnything()
    {
        await Store.CreateUserAsync("cy", null);
        await Store.CreateExperimentPermissionAsync("3", "cy", Permission.Read);
        using var lookup = new PermissionLookup(Store, Options.Create(new AuthOptions { DefaultPermission = "NO_PERMISSIONS" }));
        var canRead = await lookup.ExperimentReaderAsync("cy");
        Assert.True(canRead("3"));
        Assert.False(canRead("4"));
    }

    [Fact]
    public void AnUnknownDefaultIsRefused() =>
        Assert.Throws<Tracker.Core.MlflowException>(() => new AuthOptions { DefaultPermission = "read" }.Default);
}
