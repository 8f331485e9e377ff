using Tracker.Core;
using Tracker.Core.Storage;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>MLflow's metric-history RPCs (spec §2.3).</summary>
public static class MetricEndpoints
{
    public static RouteGroupBuilder MapMetricEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/metrics/get-history", GetMetricHistory);
        api.MapGet("/metrics/get-history-bulk-interval", GetMetricHistoryBulkInterval);
        return api;
    }

    /// <summary>
    /// At most 25,000 points a page (MLflow's GET_METRIC_HISTORY_MAX_RESULTS, what its client asks for and pages
    /// with), also when max_results is absent or 0, which MLflow answers unpaged: one request never holds a history of
    /// millions of points, and a client that does not follow next_page_token sees the first 25,000.
    /// </summary>
    public static async Task<IResult> GetMetricHistory(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var runId = args.RunId();
        var key = args.RequiredString("metric_key");
        var maxResults = args.Int32("max_results");
        if (maxResults > TrackingStore.MaxHistoryPageSize)
            throw MlflowException.InvalidParameter(
                $"Invalid value {maxResults} for parameter 'max_results' supplied. It must be at most {TrackingStore.MaxHistoryPageSize}.");
        var page = await store.GetMetricHistoryAsync(
            runId, key, maxResults is null or 0 ? TrackingStore.MaxHistoryPageSize : maxResults, args.String("page_token"), ct);
        return MlflowJson.Page("metrics", page, (w, metric) => w.WriteMetric(metric));
    }

    public static async Task<IResult> GetMetricHistoryBulkInterval(RequestArgs args, TrackingStore store, CancellationToken ct)
    {
        var metrics = await store.GetMetricHistoryBulkIntervalAsync(
            args.StringList("run_ids", idList: true),
            args.RequiredString("metric_key"),
            args.Int64("start_step"),
            args.Int64("end_step"),
            args.Int32("max_results") ?? TrackingStore.MaxBulkIntervalResults,
            ct);
        return MlflowJson.Object(w =>
        {
            if (metrics.Count == 0) return;
            w.WriteStartArray("metrics");
            foreach (var m in metrics) w.WriteMetric(m.Metric, m.RunId);
            w.WriteEndArray();
        });
    }
}
