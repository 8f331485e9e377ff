using System.Globalization;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using static Tracker.Core.Storage.TableStorage;

namespace Tracker.Core.Storage;

/// <summary>
/// Runs whose document outgrows the run row. MLflow caps each param (6,000 characters) and tag (8,000) but not how
/// many a run has, so one batch (100 of each) can already hold 1.4 million characters and a run can grow without end,
/// while a Table entity holds 1 MiB. Such a document goes whole into spill rows <c>s:{runId}:{generation}:{i}</c> of
/// the run's partition; the run row keeps its point buffer and names the generation in <c>Spill</c>.
///
/// A write stores a fresh generation, then commits the run row under its ETag as for any run: the commit is the one
/// atomic switch, so a lost race or a crash leaves at worst unreferenced rows, never a half-written run. Once committed
/// the superseded generation is deleted; a reader that finds its generation gone (read between a commit and that
/// delete) reads the run row again. A small run never pays for any of this: <c>Spill</c> is empty and nothing else
/// is read or written. A write to a large run rewrites all of it, which is what such runs cost.
/// </summary>
public sealed partial class TrackingStore
{
    private const string SpillProperty = "Spill";
    private const string SpillRowPrefix = "s:";
    /// <summary>Bounds one run's metadata in memory and per write (a 1,000-param, 1,000-tag run is about 14 MB).</summary>
    private const int MaxRunDocumentBytes = 64 * 1024 * 1024;

    private static string SpillRows(string runId, string generation) => $"{SpillRowPrefix}{runId}:{generation}:";

    private static (string Generation, int Rows) ParseSpill(string spill)
    {
        var at = spill.IndexOf(':');
        return (spill[..at], int.Parse(spill[(at + 1)..], CultureInfo.InvariantCulture));
    }

    private static string SpillOf(TableEntity row) => row.GetString(SpillProperty) ?? "";

    /// <summary>
    /// Stores a document too large for the run row in a new generation of spill rows and returns the run row's
    /// <c>Spill</c> value naming it; returns "" (nothing written) when the document fits the run row.
    /// </summary>
    private async Task<string> SpillAsync(RunDocument doc, byte[] json, CancellationToken ct)
    {
        if (json.Length <= DocumentColumns.MaxDocumentBytes) return "";
        if (json.Length > MaxRunDocumentBytes)
            throw MlflowException.InvalidParameter(
                $"The run's metadata would take {json.Length} bytes, more than Tracker's limit of {MaxRunDocumentBytes} bytes per run.");
        var generation = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var rows = (json.Length + DocumentColumns.MaxDocumentBytes - 1) / DocumentColumns.MaxDocumentBytes;
        await Task.WhenAll(Enumerable.Range(0, rows).Select(i =>
        {
            var row = new TableEntity(doc.ExperimentId, SpillRows(doc.RunId, generation) + i.ToString("D4", CultureInfo.InvariantCulture));
            var offset = i * DocumentColumns.MaxDocumentBytes;
            DocumentColumns.Write(row, json.AsSpan(offset, Math.Min(DocumentColumns.MaxDocumentBytes, json.Length - offset)));
            return StorageErrors.Call(() => _runs.AddEntityAsync(row, ct));
        }));
        return $"{generation}:{rows.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The document a run row's <c>Spill</c> names, in one range query; null if that generation is gone.</summary>
    private async Task<byte[]?> ReadSpillAsync(string experimentId, string runId, string spill, CancellationToken ct)
    {
        var (generation, rows) = ParseSpill(spill);
        var parts = new List<byte[]>(rows);
        await foreach (var row in _runs.QueryAsync<TableEntity>(
                           RowsWithPrefix(experimentId, SpillRows(runId, generation)), select: DocumentColumns.Selected, cancellationToken: ct).WithTransientErrors())
            parts.Add(DocumentColumns.Read(row));
        return parts.Count == rows ? DocumentColumns.Concat(parts) : null;
    }

    /// <summary>
    /// Deletes a generation no run row names any more (superseded, or written for a commit that lost its race). Best
    /// effort: the write it follows already succeeded, and a leftover generation is only unreferenced rows.
    /// </summary>
    private async Task DropSpillAsync(string experimentId, string runId, string spill, CancellationToken ct)
    {
        if (spill.Length == 0) return;
        var (generation, rows) = ParseSpill(spill);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, rows).Select(i => _runs.DeleteEntityAsync(
                experimentId, SpillRows(runId, generation) + i.ToString("D4", CultureInfo.InvariantCulture), cancellationToken: ct)));
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or AggregateException)
        {
            _logger.LogWarning(e, "Deleting spill generation {Spill} of run {RunId} failed; its rows stay unreferenced", spill, runId);
        }
    }
}
