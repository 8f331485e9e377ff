using Azure.Data.Tables;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

/// <summary>How run-row writes are cut to Azure's entity-group transaction limits: 100 actions, a 4 MiB body.</summary>
public sealed class TransactionLimitsTests
{
    private const int FourMiB = 4 * 1024 * 1024;

    private static TableEntity Row(string rowKey, int binaryBytes) => new("0", rowKey) { ["D0"] = new byte[binaryBytes] };

    [Fact]
    public void HistoryRowsBeyondNinetyEightActionsAreWrittenBeforeTheTransaction()
    {
        var rows = Enumerable.Range(0, 120).Select(i => Row($"h:{i:D3}", 100)).ToList();

        var (inTransaction, first) = TrackingStore.FitTransaction(Row("r:run", 1000), rows);

        // 98 history rows, the run row and its change row: 100 actions.
        Assert.Equal(rows.Take(98), inTransaction);
        Assert.Equal(rows.Skip(98), first);
    }

    [Fact]
    public void HistoryRowsThatWouldTakeTheBodyPastFourMiBAreWrittenBeforeTheTransaction()
    {
        var runRow = Row("r:run", 1000 * 1024);
        TableEntity[] rows = [Row("h:1", 900 * 1024), Row("h:2", 900 * 1024), Row("h:3", 10 * 1024)];

        var (inTransaction, first) = TrackingStore.FitTransaction(runRow, rows);

        Assert.Equal(["h:1", "h:3"], inTransaction.Select(r => r.RowKey));
        Assert.Equal(["h:2"], first.Select(r => r.RowKey));
        // Binary properties travel as base64: 4 bytes per 3.
        Assert.True(new[] { runRow }.Concat(inTransaction).Sum(r => ((byte[])r["D0"]).Length * 4 / 3) < FourMiB);
    }

    [Fact]
    public void RunRowWritesAreGroupedByFiftyWithTheirChangeRowsAndByWeight()
    {
        var small = Enumerable.Range(0, 120)
            .Select(i => new TableTransactionAction(TableTransactionActionType.UpdateReplace, Row($"r:{i:D3}", 1000))).ToList();
        Assert.Equal([50, 50, 20], TrackingStore.TransactionsOfRunRows(small).Select(t => t.Count));

        // Run rows near the 704 KiB a document may hold in its row: about 940 KB each in base64, three to a transaction.
        var large = Enumerable.Range(0, 6)
            .Select(i => new TableTransactionAction(TableTransactionActionType.UpdateReplace, Row($"r:{i:D3}", 704 * 1024))).ToList();
        var groups = TrackingStore.TransactionsOfRunRows(large).ToList();
        Assert.Equal([3, 3], groups.Select(t => t.Count));
        Assert.All(groups, g => Assert.True(g.Sum(a => ((byte[])((TableEntity)a.Entity)["D0"]).Length * 4 / 3) < FourMiB));
    }
}
