using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

[Collection(AzuriteCollection.Name)]
public sealed class CredentialVerifierTests(AzuriteFixture azurite) : IDisposable
{
    private const int CacheSeconds = 5;
    private readonly ManualTime _time = new();
    private readonly string _prefix = AuthInstance.NewPrefix();
    private readonly List<AuthInstance> _instances = [];

    private AuthInstance Instance()
    {
        var instance = new AuthInstance(azurite, _prefix, _time, CacheSeconds);
        _instances.Add(instance);
        return instance;
    }

    public void Dispose() => _instances.ForEach(i => i.Dispose());

    [Fact]
    public async Task ATokenVerifiesUntilRevokedAndOnTheRevokingInstanceStopsAtOnce()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", null, isAdmin: true);
        var token = await a.Store.CreateTokenAsync("alice", "laptop");

        var ok = await a.Verifier.VerifyTokenAsync(token.Token);
        Assert.True(ok.Succeeded);
        Assert.Equal(("alice", true, token.Info.Id), (ok.User!.UserName, ok.User.IsAdmin, ok.TokenId));

        await a.Store.RevokeTokenAsync(token.Info.Id);
        var refused = await a.Verifier.VerifyTokenAsync(token.Token);
        Assert.Equal(SignInFailure.Revoked, refused.Failure);
        Assert.Null(refused.User);
    }

    [Fact]
    public async Task ARevocationReachesAnotherInstanceWhenItsCacheEntryExpires()
    {
        var (a, b) = (Instance(), Instance());
        await a.Store.CreateUserAsync("alice", null);
        var token = await a.Store.CreateTokenAsync("alice", "ci");
        Assert.True((await b.Verifier.VerifyTokenAsync(token.Token)).Succeeded);

        await a.Store.RevokeTokenAsync(token.Info.Id);
        // b trusts what it verified for at most CacheSeconds (the documented propagation time) ...
        Assert.True((await b.Verifier.VerifyTokenAsync(token.Token)).Succeeded);
        // ... and then reads storage again.
        _time.Advance(TimeSpan.FromSeconds(CacheSeconds + 1));
        Assert.Equal(SignInFailure.Revoked, (await b.Verifier.VerifyTokenAsync(token.Token)).Failure);
    }

    [Fact]
    public async Task AVerifiedCredentialIsServedFromMemoryUntilItsEntryExpires()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", "a long password");
        var token = await a.Store.CreateTokenAsync("alice", "ci");
        Assert.True((await a.Verifier.VerifyTokenAsync(token.Token)).Succeeded);
        Assert.True((await a.Verifier.VerifyBasicAsync("alice", "a long password")).Succeeded);

        Assert.Equal(0, await AuthInstance.CountRequestsAsync(async () =>
        {
            Assert.True((await a.Verifier.VerifyTokenAsync(token.Token)).Succeeded);
            Assert.True((await a.Verifier.VerifyBasicAsync("alice", "a long password")).Succeeded);
        }));
        _time.Advance(TimeSpan.FromSeconds(CacheSeconds + 1));
        Assert.True(await AuthInstance.CountRequestsAsync(async () => await a.Verifier.VerifyTokenAsync(token.Token)) > 0);
    }

    [Fact]
    public async Task FailuresAreNeverCached()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", "a long password");
        Assert.Equal(SignInFailure.WrongPassword, (await a.Verifier.VerifyBasicAsync("alice", "not the password")).Failure);
        Assert.True(await AuthInstance.CountRequestsAsync(async () => await a.Verifier.VerifyBasicAsync("alice", "not the password")) > 0);
    }

    [Fact]
    public async Task AnExpiredTokenFailsEvenIfItsSuccessWasCached()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", null);
        var token = await a.Store.CreateTokenAsync("alice", "short-lived", _time.GetUtcNow().AddSeconds(2));
        Assert.True((await a.Verifier.VerifyTokenAsync(token.Token)).Succeeded);
        _time.Advance(TimeSpan.FromSeconds(3)); // past the expiry, still inside the cache lifetime
        Assert.Equal(SignInFailure.Expired, (await a.Verifier.VerifyTokenAsync(token.Token)).Failure);
    }

    [Fact]
    public async Task TamperedUnknownAndMalformedTokensFail()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", null);
        var token = (await a.Store.CreateTokenAsync("alice", "ci")).Token;
        var secretStart = token.LastIndexOf('_') + 1;
        var tampered = token[..secretStart] + (token[secretStart] == 'A' ? 'B' : 'A') + token[(secretStart + 1)..];
        var otherId = token[..4] + (token[4] == 'a' ? 'b' : 'a') + token[5..];

        Assert.Equal(SignInFailure.WrongSecret, (await a.Verifier.VerifyTokenAsync(tampered)).Failure);
        Assert.Equal(SignInFailure.UnknownToken, (await a.Verifier.VerifyTokenAsync(otherId)).Failure);
        Assert.Equal(SignInFailure.Malformed, (await a.Verifier.VerifyTokenAsync(token + "x")).Failure);
        Assert.Equal(SignInFailure.Malformed, (await a.Verifier.VerifyTokenAsync("not a token")).Failure);
        Assert.True((await a.Verifier.VerifyTokenAsync(token)).Succeeded);
    }

    [Fact]
    public async Task BasicTakesAPasswordOrTheUsersOwnToken()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", "alice's long password");
        await a.Store.CreateUserAsync("bob", null);
        var alices = (await a.Store.CreateTokenAsync("alice", "ci")).Token;

        Assert.Equal("alice", (await a.Verifier.VerifyBasicAsync("alice", "alice's long password")).User?.UserName);
        Assert.Equal("alice", (await a.Verifier.VerifyBasicAsync("alice", alices)).User?.UserName);
        Assert.Equal(SignInFailure.TokenOfAnotherUser, (await a.Verifier.VerifyBasicAsync("bob", alices)).Failure);
        Assert.Equal(SignInFailure.WrongPassword, (await a.Verifier.VerifyBasicAsync("alice", "alice's long passwore")).Failure);
        Assert.Equal(SignInFailure.NoPassword, (await a.Verifier.VerifyBasicAsync("bob", "any long password")).Failure);
        Assert.Equal(SignInFailure.UnknownUser, (await a.Verifier.VerifyBasicAsync("carol", "any long password")).Failure);
        Assert.Equal(SignInFailure.UnknownUser, (await a.Verifier.VerifyBasicAsync("alice ", "alice's long password")).Failure);
    }

    [Fact]
    public async Task PasswordChangesAndDeletionsApplyAtOnceOnTheInstanceThatMadeThem()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", "the first password");
        var token = (await a.Store.CreateTokenAsync("alice", "ci")).Token;
        Assert.True((await a.Verifier.VerifyBasicAsync("alice", "the first password")).Succeeded);
        Assert.True((await a.Verifier.VerifyTokenAsync(token)).Succeeded);

        await a.Store.UpdatePasswordAsync("alice", "the second password");
        Assert.Equal(SignInFailure.WrongPassword, (await a.Verifier.VerifyBasicAsync("alice", "the first password")).Failure);
        Assert.True((await a.Verifier.VerifyBasicAsync("alice", "the second password")).Succeeded);

        await a.Store.UpdateAdminAsync("alice", true);
        Assert.True((await a.Verifier.VerifyTokenAsync(token)).User!.IsAdmin);

        await a.Store.DeleteUserAsync("alice");
        Assert.False((await a.Verifier.VerifyTokenAsync(token)).Succeeded);
        Assert.Equal(SignInFailure.UnknownUser, (await a.Verifier.VerifyBasicAsync("alice", "the second password")).Failure);
    }

    [Fact]
    public async Task ATokensLastUseIsRecordedInTheBackground()
    {
        var a = Instance();
        await a.Store.CreateUserAsync("alice", null);
        var token = await a.Store.CreateTokenAsync("alice", "ci");
        Assert.Null(token.Info.LastUsedAt);
        Assert.True((await a.Verifier.VerifyTokenAsync(token.Token)).Succeeded);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await a.Store.GetTokenAsync(token.Info.Id))!.LastUsedAt is null && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(_time.GetUtcNow(), (await a.Store.GetTokenAsync(token.Info.Id))!.LastUsedAt);
    }

    [Fact]
    public async Task AnEntraIdentityResolvesToItsUserUntilUnlinked()
    {
        var a = Instance();
        var (tenant, oid) = (Guid.NewGuid(), Guid.NewGuid());
        await a.Store.CreateUserAsync("job", null);
        Assert.Equal(SignInFailure.UnknownUser, (await a.Verifier.ResolveEntraAsync(tenant, oid)).Failure);
        await a.Store.LinkEntraIdentityAsync(tenant, oid, "job");
        Assert.Equal("job", (await a.Verifier.ResolveEntraAsync(tenant, oid)).User?.UserName);
        await a.Store.UnlinkEntraIdentityAsync(tenant, oid);
        Assert.Equal(SignInFailure.UnknownUser, (await a.Verifier.ResolveEntraAsync(tenant, oid)).Failure);
    }
}
