using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

[Collection(AzuriteCollection.Name)]
public sealed class AuthStoreTests(AzuriteFixture azurite) : IDisposable
{
    private readonly AuthInstance _auth = new(azurite, AuthInstance.NewPrefix(), new ManualTime());
    private AuthStore Store => _auth.Store;

    public void Dispose() => _auth.Dispose();

    private static async Task<ErrorCode> FailsWith(Func<Task> call) => (await Assert.ThrowsAsync<MlflowException>(call)).Code;

    [Fact]
    public async Task AUserIsCreatedOnceWithMlflowsIntegerId()
    {
        var alice = await Store.CreateUserAsync("alice", null, isAdmin: true);
        var bob = await Store.CreateUserAsync("bob", "a long password");
        Assert.Equal(alice, await Store.GetUserAsync("alice"));
        Assert.True(alice.IsAdmin);
        Assert.False(alice.HasPassword);
        Assert.True(bob.HasPassword);
        Assert.True(bob.Id > alice.Id);
        Assert.Null(await Store.GetUserAsync("carol"));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.RequireUserAsync("carol")));
        var duplicate = await Assert.ThrowsAsync<MlflowException>(() => Store.CreateUserAsync("alice", "another password"));
        Assert.Equal(ErrorCode.ResourceAlreadyExists, duplicate.Code);
        Assert.Equal("User (username=alice) already exists.", duplicate.Message);
        Assert.Equal(["alice", "bob"], (await Store.ListUsersAsync()).Select(u => u.UserName).Order());
    }

    /// <summary>Reads do not wait for the tables: before anything was written, every read finds nothing and creates no
    /// table; the first write creates them.</summary>
    [Fact]
    public async Task ReadsBeforeTheFirstWriteFindNothingAndCreateNoTable()
    {
        Assert.Null(await Store.GetUserAsync("alice"));
        Assert.Empty(await Store.ListUsersAsync());
        Assert.Null(await Store.GetTokenAsync("abc123"));
        Assert.Empty(await Store.ListTokensAsync("alice"));
        Assert.Empty((await Store.ListPermissionsAsync("alice")).Experiments);
        Assert.Null(await Store.GetExperimentPermissionAsync("1", "alice"));
        Assert.Null(await Store.FindUserByEntraIdentityAsync(Guid.NewGuid(), Guid.NewGuid()));
        Assert.Empty(await Store.ListEntraIdentitiesAsync("alice"));
        Assert.Equal(SignInFailure.UnknownToken, (await _auth.Verifier.VerifyTokenAsync(TrackerToken.New().Text)).Failure);
        Assert.Empty(await _auth.Tables.QueryAsync(t => t.Name.CompareTo(_auth.Prefix) >= 0 && t.Name.CompareTo(_auth.Prefix + "~") < 0).ToListAsync());

        await Store.CreateUserAsync("alice", null);
        var token = await Store.CreateTokenAsync("alice", "ci");
        Assert.True((await _auth.Verifier.VerifyTokenAsync(token.Token)).Succeeded);
    }

    /// <summary>A new instance signs a token in with three point reads (the token, the server key, its owner) and a read
    /// of the owner's grants, two at a time: two round trips, no table set-up on a cold instance's first request, and
    /// the permission check that follows reads nothing.</summary>
    [Fact]
    public async Task AColdInstanceSignsATokenInWithTwoRoundTripsThatAlsoReadTheGrants()
    {
        await Store.CreateUserAsync("alice", null);
        var token = await Store.CreateTokenAsync("alice", "ci");
        var inFlight = new InFlight();
        using var cold = new AuthInstance(azurite, _auth.Prefix, new ManualTime(), policy: inFlight);
        Assert.Equal(4, await AuthInstance.CountRequestsAsync(async () => Assert.True((await cold.Verifier.VerifyTokenAsync(token.Token)).Succeeded)));
        Assert.Equal(2, inFlight.Most);
        Assert.Equal(0, await AuthInstance.CountRequestsAsync(async () => await cold.Permissions.ForExperimentAsync("alice", "1")));
    }

    /// <summary>Holds each request a moment and records how many were in flight at once.</summary>
    private sealed class InFlight : HttpPipelinePolicy
    {
        private int _now;
        public int Most;

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var now = Interlocked.Increment(ref _now);
            int most;
            while (now > (most = Volatile.Read(ref Most)) && Interlocked.CompareExchange(ref Most, now, most) != most) { }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                await ProcessNextAsync(message, pipeline);
            }
            finally
            {
                Interlocked.Decrement(ref _now);
            }
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("async only");
    }

    [Fact]
    public async Task UsersCreatedTogetherGetDistinctIds()
    {
        var users = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Store.CreateUserAsync($"user{i}", null)));
        Assert.Equal(8, users.Select(u => u.Id).Distinct().Count());
    }

    [Fact]
    public async Task NamesThatDisplayAlikeCannotBeTwoUsers()
    {
        await Store.CreateUserAsync("foo", null);
        await Store.CreateUserAsync("José", null); // precomposed
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateUserAsync("foo ", null)));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateUserAsync(" foo", null)));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateUserAsync("Jose\u0301", null))); // NFD
        Assert.Null(await Store.GetUserAsync("foo "));
        Assert.Null(await Store.GetUserAsync("Jose\u0301"));
        Assert.Equal(["José", "foo"], (await Store.ListUsersAsync()).Select(u => u.UserName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task NamesWithKeyForbiddenCharactersAreDistinctUsers()
    {
        string[] names = ["a/b", "a%2Fb", "a#b?c\\d", "a b"];
        foreach (var name in names) await Store.CreateUserAsync(name, null);
        foreach (var name in names) Assert.Equal(name, (await Store.GetUserAsync(name))!.UserName);
        Assert.Equal(names.Order(StringComparer.Ordinal), (await Store.ListUsersAsync()).Select(u => u.UserName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task WeakPasswordsAreRefusedAndNothingIsCreated()
    {
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateUserAsync("dave", "")));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateUserAsync("dave", "short")));
        Assert.Null(await Store.GetUserAsync("dave"));
        await Store.CreateUserAsync("dave", null);
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.UpdatePasswordAsync("dave", "elevenchars")));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.UpdatePasswordAsync("nobody", "a long password")));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.UpdateAdminAsync("nobody", true)));
    }

    [Fact]
    public async Task TheAdminFlagChanges()
    {
        await Store.CreateUserAsync("erin", "a long password");
        await Store.UpdateAdminAsync("erin", true);
        var erin = (await Store.GetUserAsync("erin"))!;
        Assert.True(erin.IsAdmin);
        Assert.True(erin.HasPassword); // the merge kept the other columns
        await Store.UpdateAdminAsync("erin", false);
        Assert.False((await Store.GetUserAsync("erin"))!.IsAdmin);
    }

    [Fact]
    public async Task PermissionsAreOnePointReadEachAndOnePartitionQueryPerUser()
    {
        var alice = await Store.CreateUserAsync("alice", null);
        await Store.CreateUserAsync("bob", null);
        const string model = "team/model #1?\\x";

        Assert.Equal(new ExperimentPermission("1", alice.Id, Permission.Edit), await Store.CreateExperimentPermissionAsync("1", "alice", Permission.Edit));
        await Store.CreateExperimentPermissionAsync("2", "alice", Permission.Read);
        Assert.Equal(new RegisteredModelPermission(model, alice.Id, Permission.Manage),
            await Store.CreateRegisteredModelPermissionAsync(model, "alice", Permission.Manage));
        await Store.CreateExperimentPermissionAsync("1", "bob", Permission.NoPermissions);

        ExperimentPermission? one = null;
        Assert.Equal(1, await AuthInstance.CountRequestsAsync(async () => one = await Store.GetExperimentPermissionAsync("1", "alice")));
        Assert.Equal(Permission.Edit, one!.Permission);
        Assert.Equal(Permission.Edit, (await Store.GetExperimentPermissionAsync("01", "alice"))!.Permission); // canonical id
        Assert.Equal(Permission.NoPermissions, (await Store.GetExperimentPermissionAsync("1", "bob"))!.Permission);
        Assert.Equal(Permission.Manage, (await Store.GetRegisteredModelPermissionAsync(model, "alice"))!.Permission);
        Assert.Null(await Store.GetExperimentPermissionAsync("3", "alice"));
        Assert.Null(await Store.GetRegisteredModelPermissionAsync("team/model #2", "alice"));
        Assert.Null(await Store.GetExperimentPermissionAsync("1", "nobody"));

        UserPermissions? all = null;
        Assert.Equal(1, await AuthInstance.CountRequestsAsync(async () => all = await Store.ListPermissionsAsync("alice")));
        Assert.Equal(["1:EDIT", "2:READ"], all!.Experiments.Select(p => $"{p.ExperimentId}:{p.Permission}").Order());
        Assert.Equal([model], all.RegisteredModels.Select(p => p.Name));
    }

    [Fact]
    public async Task PermissionsFollowMlflowsCreateUpdateDeleteRules()
    {
        await Store.CreateUserAsync("alice", null);
        await Store.CreateExperimentPermissionAsync("7", "alice", Permission.Read);
        var again = await Assert.ThrowsAsync<MlflowException>(() => Store.CreateExperimentPermissionAsync("7", "alice", Permission.Edit));
        Assert.Equal(ErrorCode.ResourceAlreadyExists, again.Code);
        Assert.Equal("Experiment permission (experiment_id=7, username=alice) already exists.", again.Message);
        Assert.Equal(Permission.Read, (await Store.GetExperimentPermissionAsync("7", "alice"))!.Permission);

        await Store.UpdateExperimentPermissionAsync("7", "alice", Permission.Manage);
        Assert.Equal(Permission.Manage, (await Store.GetExperimentPermissionAsync("7", "alice"))!.Permission);
        await Store.DeleteExperimentPermissionAsync("7", "alice");
        Assert.Null(await Store.GetExperimentPermissionAsync("7", "alice"));

        var missing = await Assert.ThrowsAsync<MlflowException>(() => Store.DeleteExperimentPermissionAsync("7", "alice"));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, missing.Code);
        Assert.Equal("Experiment permission with experiment_id=7 and username=alice not found", missing.Message);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.UpdateExperimentPermissionAsync("7", "alice", Permission.Edit)));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.UpdateRegisteredModelPermissionAsync("m", "alice", Permission.Edit)));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.DeleteRegisteredModelPermissionAsync("m", "alice")));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.CreateExperimentPermissionAsync("7", "nobody", Permission.Read)));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateExperimentPermissionAsync("x", "alice", Permission.Read)));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateRegisteredModelPermissionAsync("", "alice", Permission.Read)));
    }

    [Fact]
    public async Task DeletingAUserRemovesTheirTokensPermissionsAndIdentities()
    {
        var (tenant, oid) = (Guid.NewGuid(), Guid.NewGuid());
        await Store.CreateUserAsync("gone", "a long password");
        await Store.CreateUserAsync("stays", null);
        var token = await Store.CreateTokenAsync("gone", "ci");
        var kept = await Store.CreateTokenAsync("stays", "ci");
        await Store.CreateExperimentPermissionAsync("1", "gone", Permission.Manage);
        await Store.CreateRegisteredModelPermissionAsync("m", "gone", Permission.Manage);
        await Store.CreateExperimentPermissionAsync("1", "stays", Permission.Read);
        await Store.LinkEntraIdentityAsync(tenant, oid, "gone");

        await Store.DeleteUserAsync("gone");

        Assert.Null(await Store.GetUserAsync("gone"));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.DeleteUserAsync("gone")));
        Assert.DoesNotContain(await _auth.ScanAsync("tokens"), r => r.GetString("Owner") == "gone");
        Assert.DoesNotContain(await _auth.ScanAsync("users"), r => r.GetString("UserName") == "gone");
        Assert.Single(await _auth.ScanAsync("permissions"));
        Assert.Equal([kept.Info.Id], (await Store.ListTokensAsync("stays")).Select(t => t.Id));
        Assert.False((await _auth.Verifier.VerifyTokenAsync(token.Token)).Succeeded);

        // The same name again is a new user with nothing of the old one's.
        var again = await Store.CreateUserAsync("gone", null);
        Assert.Empty((await Store.ListPermissionsAsync("gone")).Experiments);
        Assert.Null(await Store.FindUserByEntraIdentityAsync(tenant, oid));
        Assert.Equal(SignInFailure.UnknownToken, (await _auth.Verifier.VerifyTokenAsync(token.Token)).Failure);
        Assert.True(again.Id > 0);
    }

    [Fact]
    public async Task TheStoredTokenRowNeverHoldsTheSecret()
    {
        await Store.CreateUserAsync("alice", null);
        var created = await Store.CreateTokenAsync("alice", "laptop", DateTimeOffset.UtcNow.AddDays(30));
        Assert.True(TrackerToken.TryParse(created.Token, out var id, out var secret));
        // The secret's text is everything after "trk_<id>_" (base64url may itself contain '_').
        var secretText = created.Token[(TrackerToken.Prefix.Length + id.Length + 1)..];

        var rows = await _auth.ScanAsync("tokens");
        var row = Assert.Single(rows);
        Assert.Equal(id, row.PartitionKey);
        foreach (var (column, value) in row)
        {
            var text = value switch { byte[] b => Convert.ToBase64String(b) + Convert.ToHexString(b), _ => value?.ToString() ?? "" };
            Assert.DoesNotContain(secretText, text);
            Assert.DoesNotContain(Convert.ToBase64String(secret), text);
            Assert.DoesNotContain(Convert.ToHexString(secret), text, StringComparison.OrdinalIgnoreCase);
            if (value is byte[] bytes) Assert.False(bytes.AsSpan().IndexOf(secret) >= 0, $"{column} holds the secret");
        }
        Assert.All(rows, r => Assert.DoesNotContain(created.Token, Encoding.UTF8.GetString(r.GetBinary("Hash") ?? [])));
    }

    [Fact]
    public async Task TokensAreListedPerOwnerWithoutSecretsAndRevokedOnce()
    {
        await Store.CreateUserAsync("alice", null);
        await Store.CreateUserAsync("bob", null);
        var a1 = await Store.CreateTokenAsync("alice", "one");
        var a2 = await Store.CreateTokenAsync("alice", "two");
        await Store.CreateTokenAsync("bob", "bob's");
        Assert.Equal(new[] { a1.Info.Id, a2.Info.Id }.Order(), (await Store.ListTokensAsync("alice")).Select(t => t.Id).Order());

        var revoked = await Store.RevokeTokenAsync(a1.Info.Id);
        Assert.NotNull(revoked.RevokedAt);
        Assert.Equal(revoked.RevokedAt, (await Store.RevokeTokenAsync(a1.Info.Id)).RevokedAt);
        Assert.Equal(revoked.RevokedAt, (await Store.GetTokenAsync(a1.Info.Id))!.RevokedAt);
        Assert.Equal("alice", (await Store.GetTokenAsync(a1.Info.Id))!.Owner);
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.RevokeTokenAsync("nosuchtoken")));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.CreateTokenAsync("nobody", "x")));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateTokenAsync("alice", "")));
        Assert.Equal(ErrorCode.InvalidParameterValue, await FailsWith(() => Store.CreateTokenAsync("alice", "past", DateTimeOffset.UtcNow.AddDays(-1))));
    }

    [Fact]
    public async Task EntraIdentitiesMapToOneUser()
    {
        var (tenant, oid) = (Guid.NewGuid(), Guid.NewGuid());
        var job = await Store.CreateUserAsync("training-job", null);
        Assert.Null(await Store.FindUserByEntraIdentityAsync(tenant, oid));
        Assert.Equal(new ExternalIdentity(tenant, oid, "training-job"), await Store.LinkEntraIdentityAsync(tenant, oid, "training-job"));
        Assert.Equal(job, await Store.FindUserByEntraIdentityAsync(tenant, oid));
        Assert.Null(await Store.FindUserByEntraIdentityAsync(Guid.NewGuid(), oid)); // same object id, other tenant
        Assert.Equal(ErrorCode.ResourceAlreadyExists, await FailsWith(() => Store.LinkEntraIdentityAsync(tenant, oid, "training-job")));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.LinkEntraIdentityAsync(Guid.NewGuid(), oid, "nobody")));
        Assert.Equal([oid], (await Store.ListEntraIdentitiesAsync("training-job")).Select(i => i.ObjectId));

        await Store.UnlinkEntraIdentityAsync(tenant, oid);
        Assert.Null(await Store.FindUserByEntraIdentityAsync(tenant, oid));
        Assert.Equal(ErrorCode.ResourceDoesNotExist, await FailsWith(() => Store.UnlinkEntraIdentityAsync(tenant, oid)));
    }
}
