using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tracker.Core.Auth;
using Tracker.Functions.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// How callers sign in over HTTP: Tracker tokens as Bearer or as the Basic password, passwords; revocation and expiry
/// (at once on the instance that revoked, within the credential cache lifetime on another); function keys are no
/// identity; repeated failures from one client are refused for the throttle window; the sign-in log never holds a secret.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class CredentialTests(AzuriteFixture azurite)
{
    private const string Route = AuthedApp.Api + "experiments/search";
    private const string Password = "correct-horse-battery-9";

    private static async Task<int> StatusAsync(AuthedApp app, string? authorization, string? client = null, Action<HttpRequestMessage>? configure = null) =>
        (await app.StatusAsync(HttpMethod.Post, Route, authorization, new JsonObject(), client, configure)).Status;

    [Fact]
    public async Task BearerAndBasicWithTokenOrPasswordSignIn()
    {
        await using var app = new AuthedApp(azurite);
        await app.Store.CreateUserAsync("erin", Password);
        await app.Store.CreateUserAsync("grace", Password);
        var token = (await app.Store.CreateTokenAsync("erin", "laptop")).Token;

        Assert.Equal(200, await StatusAsync(app, AuthedApp.Bearer(token)));
        Assert.Equal(200, await StatusAsync(app, AuthedApp.Basic("erin", token)));
        Assert.Equal(200, await StatusAsync(app, AuthedApp.Basic("erin", Password)));
        Assert.Equal(401, await StatusAsync(app, AuthedApp.Basic("grace", token))); // erin's token under grace's name
        Assert.Equal(401, await StatusAsync(app, AuthedApp.Basic("erin", Password + "x")));
        Assert.Equal(401, await StatusAsync(app, AuthedApp.Bearer(token[..^1] + (token[^1] == 'A' ? 'B' : 'A'))));
    }

    [Fact]
    public async Task ARevokedTokenFailsAtOnceWhereRevokedAndWithinTheCacheLifetimeElsewhere()
    {
        await using var revoking = new AuthedApp(azurite);
        await using var other = new AuthedApp(azurite, new Dictionary<string, string> { ["Tracker:Auth:CredentialCacheSeconds"] = "1" }, revoking.Tracker.TablePrefix);
        await revoking.Store.CreateUserAsync("heidi", password: null);
        var created = await revoking.Store.CreateTokenAsync("heidi", "job");
        var bearer = AuthedApp.Bearer(created.Token);
        // Both instances have verified (and cached) the token.
        Assert.Equal(200, await StatusAsync(revoking, bearer));
        Assert.Equal(200, await StatusAsync(other, bearer));

        await revoking.Store.RevokeTokenAsync(created.Info.Id);

        Assert.Equal(401, await StatusAsync(revoking, bearer));
        Assert.Equal(401, await StatusAsync(revoking, AuthedApp.Basic("heidi", created.Token)));
        // The other instance learns it when its cached entry (1 s here) expires; a generous upper bound, no lower one.
        var waited = Stopwatch.StartNew();
        var status = 200;
        while (status != 401 && waited.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(200);
            status = await StatusAsync(other, bearer);
        }
        Assert.Equal(401, status);
    }

    [Fact]
    public async Task AnExpiredTokenFailsEvenWhileItsSuccessIsCached()
    {
        var time = new ManualTime();
        await using var app = new AuthedApp(azurite, services: s => s.AddSingleton<TimeProvider>(time));
        await app.Store.CreateUserAsync("ivan", password: null);
        var expiring = AuthedApp.Bearer((await app.Store.CreateTokenAsync("ivan", "short", time.GetUtcNow().AddSeconds(20))).Token);
        var lasting = AuthedApp.Bearer((await app.Store.CreateTokenAsync("ivan", "long")).Token);
        Assert.Equal(200, await StatusAsync(app, expiring));

        time.Advance(TimeSpan.FromSeconds(21)); // within the 30 s cache lifetime, past the expiry

        Assert.Equal(401, await StatusAsync(app, expiring));
        Assert.Equal(200, await StatusAsync(app, lasting));
    }

    [Fact]
    public async Task ADemotedAdminAndADeletedUserLoseTheirAccessAtOnce()
    {
        await using var app = new AuthedApp(azurite);
        var owner = await app.UserAsync("olivia");
        var experiment = await app.CreateExperimentAsync(owner, "owned-" + Guid.NewGuid().ToString("N"));
        var admin = await app.UserAsync("peggy", admin: true);
        var route = $"{AuthedApp.Api}experiments/get?experiment_id={experiment}";
        Assert.Equal(200, (await app.StatusAsync(HttpMethod.Get, route, admin)).Status);

        await app.Store.UpdateAdminAsync("peggy", isAdmin: false);
        Assert.Equal(403, (await app.StatusAsync(HttpMethod.Get, route, admin)).Status);

        await app.Store.DeleteUserAsync("peggy");
        Assert.Equal(401, (await app.StatusAsync(HttpMethod.Get, route, admin)).Status);
    }

    [Fact]
    public async Task FunctionKeysAreNoIdentity()
    {
        await using var app = new AuthedApp(azurite);
        var (status, _, challenged) = await app.StatusAsync(HttpMethod.Post, Route + "?code=aFunctionKey0123456789==", null, new JsonObject());
        Assert.Equal((401, true), (status, challenged));
        (status, _, challenged) = await app.StatusAsync(HttpMethod.Post, Route, null, new JsonObject(),
            configure: r => r.Headers.Add("x-functions-key", "aFunctionKey0123456789=="));
        Assert.Equal((401, true), (status, challenged));
    }

    [Fact]
    public async Task RepeatedFailuresFromOneClientAreRefusedUntilTheWindowEnds()
    {
        var time = new ManualTime();
        await using var app = new AuthedApp(azurite, services: s => s.AddSingleton<TimeProvider>(time));
        var good = await app.UserAsync("judy");
        const string guesser = "203.0.113.9";
        for (var i = 0; i < SignInThrottle.MaxFailures; i++)
            Assert.Equal(401, await StatusAsync(app, AuthedApp.Bearer(RouteAccessTests.UnknownToken()), guesser));

        using var refused = await app.SendAsync(HttpMethod.Post, Route, AuthedApp.Bearer(RouteAccessTests.UnknownToken()), new JsonObject(), guesser);
        Assert.Equal(429, (int)refused.StatusCode);
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, (int)SignInThrottle.Window.TotalSeconds);
        // Even a good credential from that client waits; another client is not affected.
        Assert.Equal(429, await StatusAsync(app, good, guesser));
        Assert.Equal(200, await StatusAsync(app, good, "203.0.113.10"));

        time.Advance(SignInThrottle.Window + TimeSpan.FromSeconds(1));
        Assert.Equal(200, await StatusAsync(app, good, guesser));
    }

    [Fact]
    public async Task FailuresOnAPublicRouteCountToo()
    {
        await using var app = new AuthedApp(azurite);
        var good = await app.UserAsync("kim");
        const string guesser = "203.0.113.11";
        // /health answers whatever the credential, but a password in it is still checked (a PBKDF2 run): guessing there
        // must be throttled like anywhere else.
        for (var i = 0; i < SignInThrottle.MaxFailures; i++)
        {
            using var health = await app.SendAsync(HttpMethod.Get, "/health", AuthedApp.Basic("kim", "wrong-password-" + i), null, guesser);
            Assert.Equal(200, (int)health.StatusCode);
        }
        Assert.Equal(429, await StatusAsync(app, good, guesser));
    }

    [Fact]
    public async Task FailedSignInsAreLoggedWithTheUserAndReasonButNeverTheSecret()
    {
        var logs = new CapturedLogs();
        await using var app = new AuthedApp(azurite, services: s => s.AddSingleton<ILoggerProvider>(logs));
        await app.Store.CreateUserAsync("mallory", Password);
        var token = (await app.Store.CreateTokenAsync("mallory", "ci")).Token;
        var wrongSecret = token[..^5] + "AAAAA";
        const string guessed = "guessed-password-42";

        Assert.Equal(401, await StatusAsync(app, AuthedApp.Basic("mallory", guessed)));
        Assert.Equal(401, await StatusAsync(app, AuthedApp.Basic("nobody-here", guessed)));
        Assert.Equal(401, await StatusAsync(app, AuthedApp.Bearer(wrongSecret)));

        var lines = logs.Lines.Where(l => l.Contains("Sign-in failed", StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("mallory", StringComparison.Ordinal) && l.Contains("WrongPassword", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("nobody-here", StringComparison.Ordinal) && l.Contains("UnknownUser", StringComparison.Ordinal));
        var tokenId = token.Substring(TrackerToken.Prefix.Length, 16);
        var secretOf = (string t) => t[(TrackerToken.Prefix.Length + 17)..];
        Assert.Contains(lines, l => l.Contains(tokenId, StringComparison.Ordinal) && l.Contains("WrongSecret", StringComparison.Ordinal));
        foreach (var secret in new[] { guessed, secretOf(wrongSecret), secretOf(token) })
            Assert.DoesNotContain(logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }

    /// <summary>Every log line the app writes, formatted, with its category.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();
        public IReadOnlyCollection<string> Lines => _lines;
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);
        public void Dispose() { }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}
