using Azure.Data.Tables;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

public class DocumentColumnsTests
{
    private static byte[] Document(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private static string[] ColumnsOf(TableEntity entity) =>
        entity.Keys.Where(k => k.Length > 1 && k[0] == 'D' && k[1..].All(char.IsAsciiDigit)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void A200KbDocumentSplitsIntoFourColumnsAndReadsBackIdentical()
    {
        var json = Document(200 * 1024);
        var entity = new TableEntity("p", "r");
        DocumentColumns.Write(entity, json);
        Assert.Equal(["D0", "D1", "D2", "D3"], ColumnsOf(entity));
        Assert.Equal([65536, 65536, 65536, 8192], new[] { "D0", "D1", "D2", "D3" }.Select(n => entity.GetBinary(n)!.Length));
        Assert.Equal(json, DocumentColumns.Read(entity));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(65535, 1)]
    [InlineData(65536, 1)]
    [InlineData(65537, 2)]
    [InlineData(200_000, 4)]
    [InlineData(11 * 65536 - 1, 11)]
    [InlineData(11 * 65536, 11)]
    public void DocumentsUpToTheLimitRoundTrip(int length, int columns)
    {
        var json = Document(length);
        var entity = new TableEntity("p", "r");
        DocumentColumns.Write(entity, json);
        Assert.Equal(columns, ColumnsOf(entity).Length);
        Assert.All(ColumnsOf(entity), c => Assert.InRange(entity.GetBinary(c)!.Length, 1, 64 * 1024));
        Assert.Equal(json, DocumentColumns.Read(entity));
    }

    [Theory]
    [InlineData(15 * 65536 + 1)]
    [InlineData(2 * 1024 * 1024)]
    public void OverLimitDocumentsAreRejectedWithoutWriting(int length)
    {
        var entity = new TableEntity("p", "r");
        var e = MlflowAssert.Throws(() => DocumentColumns.Write(entity, Document(length)));
        Assert.Contains($"({length} bytes)", e.Message);
        Assert.Empty(ColumnsOf(entity));
    }

    [Fact]
    public void LimitFitsAnEntity()
    {
        Assert.Equal(11 * 64 * 1024, DocumentColumns.MaxDocumentBytes);
        Assert.True(DocumentColumns.MaxDocumentBytes < 1024 * 1024);
        Assert.Equal(DocumentColumns.MaxColumns, DocumentColumns.Names.Length);
    }

    [Fact]
    public void AnEmptyDocumentReadsBackEmpty()
    {
        var entity = new TableEntity("p", "r");
        DocumentColumns.Write(entity, []);
        Assert.Empty(DocumentColumns.Read(entity));
    }

    [Fact]
    public void AnEntityWithoutColumnsReadsEmpty() => Assert.Empty(DocumentColumns.Read(new TableEntity("p", "r") { ["Lifecycle"] = "active" }));

    [Fact]
    public void OtherPropertiesAreLeftAlone()
    {
        var json = Document(70_000);
        var entity = new TableEntity("p", "r") { ["Lifecycle"] = "deleted" };
        DocumentColumns.Write(entity, json);
        Assert.Equal("deleted", entity.GetString("Lifecycle"));
        Assert.Equal(json, DocumentColumns.Read(entity));
    }

    [Fact]
    public void ReadsColumnsSetAsStoredBinaryValues()
    {
        // As read back from the service: each column an independent byte[].
        var entity = new TableEntity("p", "r")
        {
            ["D0"] = "{\"a\":"u8.ToArray(),
            ["D1"] = "\"b\"}"u8.ToArray(),
        };
        Assert.Equal("{\"a\":\"b\"}"u8.ToArray(), DocumentColumns.Read(entity));
    }
}
