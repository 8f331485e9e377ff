using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Tracker.Core.Storage;

/// <summary>The writing side of the change feed (<see cref="ChangeFeed"/>): every write of a run row goes through here.</summary>
public sealed partial class TrackingStore
{
    /// <summary>
    /// Commits one write of a run row (<paramref name="runRow"/>: its Add, Update or Delete action) together with its
    /// change row, and the <paramref name="alongside"/> rows that must land with it, as one entity-group transaction of
    /// the experiment's partition: the feed holds a change exactly when the run row does. Returns the run row's new
    /// ETag (null for a Delete).
    /// </summary>
    private async Task<ETag?> CommitRunRowAsync(TableTransactionAction runRow, IReadOnlyList<TableTransactionAction> alongside, CancellationToken ct) =>
        (await CommitRunRowsAsync([runRow], alongside, ct))[0];

    /// <summary>
    /// <see cref="CommitRunRowAsync"/> for several run rows of one experiment (at most 50 with nothing alongside): one
    /// transaction, a change row each. A write that answered late, or whose outcome is unknown, adds one more change row
    /// per run (see <see cref="ChangeFeed"/> for why that keeps every reader's view complete).
    /// </summary>
    private async Task<ETag?[]> CommitRunRowsAsync(
        IReadOnlyList<TableTransactionAction> runRows, IReadOnlyList<TableTransactionAction> alongside, CancellationToken ct)
    {
        var experimentId = runRows[0].Entity.PartitionKey;
        var runIds = runRows.Select(r => r.Entity.RowKey[RunRowPrefix.Length..]).ToList();
        var drawn = _time.GetTimestamp();
        var at = await StorageNowAsync(ct);
        List<TableTransactionAction> actions =
            [.. runRows, .. alongside, .. runIds.Select(id => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ChangeFeed.Row(experimentId, id, at)))];
        Response<IReadOnlyList<Response>> response;
        try
        {
            response = await StorageErrors.Call(() => _runs.SubmitTransactionAsync(actions, ct));
        }
        catch (Exception e) when (e is MlflowException or OperationCanceledException)
        {
            // Transient or timed out: the transaction may still commit after this answer, so mark the runs changed now.
            await AddChangeRowsAfterFailureAsync(experimentId, runIds);
            throw;
        }
        if (ChangeFeed.IsLate(drawn, _time)) await AddChangeRowsAsync(experimentId, runIds, ct);
        NoteChangesWritten(experimentId, runIds.Count);
        return runRows.Select((row, i) => row.ActionType == TableTransactionActionType.Delete ? null : response.Value[i].Headers.ETag).ToArray();
    }

    /// <summary>Change rows on their own: the runs' rows changed (or may have) without one keyed late enough. These are
    /// writes like any other: while one answers late, another follows, keyed afresh.</summary>
    private async Task AddChangeRowsAsync(string experimentId, IReadOnlyList<string> runIds, CancellationToken ct)
    {
        long drawn;
        do
        {
            drawn = _time.GetTimestamp();
            var at = await StorageNowAsync(ct);
            await StorageErrors.Call(() => _runs.SubmitTransactionAsync(
                runIds.Select(id => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ChangeFeed.Row(experimentId, id, at))), ct));
        } while (ChangeFeed.IsLate(drawn, _time));
    }

    /// <summary>
    /// Storage's time (<see cref="StorageClock"/>), which change keys and feed cursors are drawn from. Before this
    /// instance's first table answer the clock is only the local one, which may be far off: then one cheap point read
    /// first. Rarely needed: a cold instance's first request usually signs in (table reads) or reads a run first.
    /// </summary>
    private async ValueTask<DateTimeOffset> StorageNowAsync(CancellationToken ct)
    {
        if (!_clock.Calibrated) await StorageErrors.Call(() => ProbeAsync(ct));
        return _clock.Now();
    }

    private async Task AddChangeRowsAfterFailureAsync(string experimentId, IReadOnlyList<string> runIds)
    {
        // Its own short budget: the request's may be what ran out.
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await AddChangeRowsAsync(experimentId, runIds, budget.Token);
        }
        catch (Exception e) when (e is MlflowException or RequestFailedException or OperationCanceledException)
        {
            _logger.LogWarning(e, "Could not mark {Count} runs of experiment {ExperimentId} changed after a failed write; searches elsewhere see them at their next change",
                runIds.Count, experimentId);
        }
    }
}
