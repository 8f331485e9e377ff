using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>One Tracker instance's auth services over the shared Azurite: instances built with the same prefix share tables.</summary>
internal sealed class AuthInstance : IDisposable
{
    /// <param name="policy">One more policy in the table client's pipeline.</param>
    public AuthInstance(AzuriteFixture azurite, string prefix, TimeProvider time, int cacheSeconds = 30, Azure.Core.Pipeline.HttpPipelinePolicy? policy = null)
    {
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(new StorageRequestCounter(), Azure.Core.HttpPipelinePosition.PerRetry);
        if (policy is not null) clientOptions.AddPolicy(policy, Azure.Core.HttpPipelinePosition.PerRetry);
        Tables = new TableServiceClient(azurite.ConnectionString, clientOptions);
        var storage = Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString, TablePrefix = prefix });
        var auth = Options.Create(new AuthOptions { CredentialCacheSeconds = cacheSeconds });
        Store = new AuthStore(Tables, storage, new ServerKeys(Tables, storage, auth), time, NullLogger<AuthStore>.Instance);
        Permissions = new PermissionLookup(Store, auth);
        Verifier = new CredentialVerifier(Store, auth, time, Permissions);
        Prefix = prefix;
    }

    public string Prefix { get; }
    public TableServiceClient Tables { get; }
    public AuthStore Store { get; }
    public PermissionLookup Permissions { get; }
    public CredentialVerifier Verifier { get; }

    public static string NewPrefix() => "a" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Storage requests made by <paramref name="work"/>.</summary>
    public static async Task<int> CountRequestsAsync(Func<Task> work)
    {
        var counter = StorageRequestCounter.Begin();
        await work();
        return counter.Count;
    }

    /// <summary>Every row of one of this instance's tables, every column.</summary>
    public async Task<List<TableEntity>> ScanAsync(string table)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Tables.GetTableClient(Prefix + table).QueryAsync<TableEntity>()) rows.Add(row);
        return rows;
    }

    public void Dispose()
    {
        Verifier.Dispose();
        Permissions.Dispose();
    }
}
