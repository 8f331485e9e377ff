using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Tracker.Core.Storage;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>The app's table client asks for rows without OData metadata inside <see cref="KeysOnlyQueries.Scope"/>
/// (the change feed's reads), and for the SDK's default anywhere else.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class KeysOnlyQueriesTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task TheAppsTableClientReadsKeysWithoutMetadataOnlyInsideTheScope()
    {
        await using var app = new TrackerApp(azurite);
        var table = app.Services.GetRequiredService<TableServiceClient>().GetTableClient("k" + Guid.NewGuid().ToString("N")[..12]);
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(new TableEntity("p", "a") { [ChangeFeed.WriteProperty] = "0123abcd" });

        async Task<TableEntity> ReadAsync()
        {
            await foreach (var row in table.QueryAsync<TableEntity>(select: ["RowKey", ChangeFeed.WriteProperty])) return row;
            throw new InvalidOperationException("no row");
        }

        var outside = await ReadAsync();
        TableEntity inside;
        using (KeysOnlyQueries.Scope()) inside = await ReadAsync();
        var after = await ReadAsync();

        // Minimal metadata carries each row's ETag; no metadata does not, and the key and the string property still read.
        Assert.NotEqual(default, outside.ETag);
        Assert.Equal(default, inside.ETag);
        Assert.NotEqual(default, after.ETag);
        Assert.Equal("a", inside.RowKey);
        Assert.Equal("0123abcd", inside.GetString(ChangeFeed.WriteProperty));
        await table.DeleteAsync();
    }
}
