using Microsoft.Extensions.Options;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

[Collection(AzuriteCollection.Name)]
public sealed class PermissionLookupTests(AzuriteFixture azurite)
{
    private static PermissionLookup Lookup(AuthInstance auth, string defaultPermission = "READ") =>
        new(auth.Store, Options.Create(new AuthOptions { DefaultPermission = defaultPermission }));

    [Fact]
    public async Task AGrantOverridesTheDefaultAndIsReadOncePerUser()
    {
        using var auth = new AuthInstance(azurite, AuthInstance.NewPrefix(), TimeProvider.System);
        await auth.Store.CreateUserAsync("ann", null);
        await auth.Store.CreateExperimentPermissionAsync("7", "ann", Permission.NoPermissions);
        await auth.Store.CreateExperimentPermissionAsync("8", "ann", Permission.Manage);
        await auth.Store.CreateRegisteredModelPermissionAsync("model", "ann", Permission.Edit);
        using var lookup = Lookup(auth);

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
        using var auth = new AuthInstance(azurite, AuthInstance.NewPrefix(), TimeProvider.System);
        await auth.Store.CreateUserAsync("bob", null);
        await auth.Store.CreateExperimentPermissionAsync("3", "bob", Permission.Read);
        using var lookup = Lookup(auth, "NO_PERMISSIONS");
        var canRead = await lookup.ExperimentReaderAsync("bob");
        Assert.True(canRead("3"));
        Assert.False(canRead("4"));
    }

    [Fact]
    public async Task AChangeThroughThisInstanceAppliesAtOnce()
    {
        using var auth = new AuthInstance(azurite, AuthInstance.NewPrefix(), TimeProvider.System);
        await auth.Store.CreateUserAsync("cy", null);
        using var lookup = Lookup(auth);
        Assert.Equal(Permission.Read, await lookup.ForExperimentAsync("cy", "5"));

        await auth.Store.CreateExperimentPermissionAsync("5", "cy", Permission.Edit);
        Assert.Equal(Permission.Edit, await lookup.ForExperimentAsync("cy", "5"));
        await auth.Store.UpdateExperimentPermissionAsync("5", "cy", Permission.NoPermissions);
        Assert.Equal(Permission.NoPermissions, await lookup.ForExperimentAsync("cy", "5"));
        await auth.Store.DeleteExperimentPermissionAsync("5", "cy");
        Assert.Equal(Permission.Read, await lookup.ForExperimentAsync("cy", "5"));
    }

    [Fact]
    public void AnUnknownDefaultIsRefused() =>
        Assert.Throws<MlflowException>(() => new AuthOptions { DefaultPermission = "read" }.Default);
}
