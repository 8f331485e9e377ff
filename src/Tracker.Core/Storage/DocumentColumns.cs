using Azure.Data.Tables;

namespace Tracker.Core.Storage;

/// <summary>
/// Stores one UTF-8 JSON document across binary properties <c>D0…Dn</c>: a Table property holds at most 64 KiB, an
/// entity at most 1 MiB. Keeping a run's metadata in one entity is what lets a search read a whole experiment in a
/// few range queries instead of one request per run.
/// </summary>
internal static class DocumentColumns
{
    private const int ColumnBytes = 64 * 1024;
    /// <summary>11 columns (704 KiB) leave room in a run row's 1 MiB for its point buffer (see <see cref="PointBuffer"/>).</summary>
    public const int MaxColumns = 11;
    /// <summary>How many columns the document spans: an ETag-guarded Merge of a shorter document leaves old columns
    /// behind, which readers must ignore.</summary>
    public const string CountProperty = "DN";
    public const int MaxDocumentBytes = ColumnBytes * MaxColumns;

    public static readonly string[] Names = Enumerable.Range(0, MaxColumns).Select(i => $"D{i}").ToArray();

    /// <summary>What a reader of the document alone selects.</summary>
    public static readonly string[] Selected = [.. Names, CountProperty];

    public static void Write(TableEntity entity, ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxDocumentBytes)
            throw MlflowException.InvalidParameter(
                $"The resulting metadata ({json.Length} bytes) exceeds Tracker's per-entity limit of {MaxDocumentBytes} bytes. Log fewer or shorter values.");
        var count = 0;
        for (var offset = 0; offset < json.Length; count++, offset += ColumnBytes)
            entity[Names[count]] = json.Slice(offset, Math.Min(ColumnBytes, json.Length - offset)).ToArray();
        entity[CountProperty] = count;
    }

    public static byte[] Read(TableEntity entity)
    {
        var parts = new List<byte[]>();
        var count = entity.GetInt32(CountProperty) ?? MaxColumns;
        foreach (var name in Names.Take(count))
        {
            if (entity.GetBinary(name) is not { } part) break;
            parts.Add(part);
        }
        return Concat(parts);
    }

    /// <summary>The parts of a document, read from several columns or rows, as one byte array.</summary>
    public static byte[] Concat(IReadOnlyList<byte[]> parts)
    {
        if (parts.Count == 1) return parts[0];
        var result = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, at);
            at += p.Length;
        }
        return result;
    }
}
