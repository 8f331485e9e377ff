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

    public static async Task<IResult> GetMetricHistory(HttpRequest request, TrackingStore store, CancellationToken ct)
    {
        var args = await RequestArgs.ReadAsync(request, ct);
        var page = await store.GetMetricHistoryAsync(
            args.RunId(), args.RequiredString("metric_key"), args.Int32("max_results"), args.String("page_token"), ct);
        return MlflowJson.Page("metrics", page, (w, metric) => w.WriteMetric(metric));
    }

    public static async Task<IResult> GetMetricHistoryBulkInterval(HttpRequest request, TrackingStore store, CancellationToken ct)
    {
        var args = await RequestArgs.ReadAsync(request, ct);
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
