using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

[Collection(AzuriteCollection.Name)]
public sealed class ServerKeysTests(AzuriteFixture azurite)
{
    private ServerKeys Keys(string prefix, string? configured = null) => new(
        new TableServiceClient(azurite.ConnectionString),
        Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString, TablePrefix = prefix }),
        Options.Create(new AuthOptions { ServerKey = configured }));

    private static string Prefix() => "k" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task InstancesStartingTogetherAgreeOnOneGeneratedKey()
    {
        var prefix = Prefix();
        var instances = Enumerable.Range(0, 8).Select(_ => Keys(prefix)).ToArray();
        var keys = await Task.WhenAll(instances.Select(k => k.GetAsync("page-token").AsTask()));
        Assert.All(keys, k => Assert.Equal(keys[0], k));
        Assert.Equal(32, keys[0].Length);
        // A later instance reads the stored key rather than making a new one.
        Assert.Equal(keys[0], await Keys(prefix).GetAsync("page-token"));
        // Another deployment (another table) has its own.
        Assert.NotEqual(keys[0], await Keys(Prefix()).GetAsync("page-token"));
    }

    [Fact]
    public async Task EachPurposeHasItsOwnKey()
    {
        var keys = Keys(Prefix());
        Assert.NotEqual(await keys.GetAsync("page-token"), await keys.GetAsync("token-hash"));
    }

    [Fact]
    public async Task AConfiguredKeyIsUsedAndNothingIsStored()
    {
        var prefix = Prefix();
        var configured = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var a = await Keys(prefix, configured).GetAsync("page-token");
        Assert.Equal(a, await Keys(Prefix(), configured).GetAsync("page-token"));
        var tables = new TableServiceClient(azurite.ConnectionString).QueryAsync(t => t.Name == prefix + "keys");
        Assert.Empty(await tables.ToListAsync());
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("AAAA", false)]
    [InlineData("not base64!", false)]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true)]
    public void ShortOrMalformedSettingsAreRefused(string? value, bool valid) => Assert.Equal(valid, ServerKeys.IsValidSetting(value));
}
