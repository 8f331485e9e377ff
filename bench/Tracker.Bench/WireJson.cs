using System.Buffers;
using System.Text.Json;

namespace Tracker.Bench;

/// <summary>
/// Request bodies written with Utf8JsonWriter, shaped like the MLflow Python client's: snake_case
/// fields, int64 and double values as JSON numbers. Built as byte arrays so throughput loops can
/// build them before the clock starts and time only the server.
/// </summary>
public static class WireJson
{
    public static byte[] Object(Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>runs/log-batch</c> takes <c>run_id</c> only (no run_uuid), as the client sends it.</summary>
    public static byte[] LogBatch(
        string runId,
        IReadOnlyList<MetricPoint> metrics,
        IReadOnlyList<KeyValue>? parameters = null,
        IReadOnlyList<KeyValue>? tags = null) =>
        Object(w =>
        {
            w.WriteString("run_id", runId);
            w.WriteStartArray("metrics");
            foreach (var m in metrics)
            {
                WriteMetric(w, m);
            }

            w.WriteEndArray();
            WriteKeyValues(w, "params", parameters ?? []);
            WriteKeyValues(w, "tags", tags ?? []);
        });

    /// <summary>Single-run calls carry both run_id and run_uuid, as the Python client sends them.</summary>
    public static byte[] LogMetric(string runId, MetricPoint metric) =>
        Object(w =>
        {
            w.WriteString("run_id", runId);
            w.WriteString("run_uuid", runId);
            w.WriteString("key", metric.Key);
            w.WriteNumber("value", metric.Value);
            w.WriteNumber("timestamp", metric.Timestamp);
            w.WriteNumber("step", metric.Step);
        });

    public static byte[] CreateExperiment(string name) => Object(w => w.WriteString("name", name));

    /// <summary>Like <c>mlflow.start_run</c>: user, start time and the system tags the client adds.</summary>
    public static byte[] CreateRun(string experimentId, string runName, long startTime) =>
        Object(w =>
        {
            w.WriteString("experiment_id", experimentId);
            w.WriteString("user_id", "tracker-bench");
            w.WriteString("run_name", runName);
            w.WriteNumber("start_time", startTime);
            WriteKeyValues(w, "tags",
            [
                new("mlflow.user", "tracker-bench"),
                new("mlflow.source.name", "Tracker.Bench"),
                new("mlflow.source.type", "LOCAL"),
                new("mlflow.runName", runName),
            ]);
        });

    public static byte[] SearchRuns(SearchRunsQuery query, string? pageToken) =>
        Object(w =>
        {
            w.WriteStartArray("experiment_ids");
            w.WriteStringValue(query.ExperimentId);
            w.WriteEndArray();
            w.WriteString("filter", query.Filter);
            w.WriteNumber("max_results", query.MaxResults);
            if (query.OrderBy.Count > 0)
            {
                w.WriteStartArray("order_by");
                foreach (var order in query.OrderBy)
                {
                    w.WriteStringValue(order);
                }

                w.WriteEndArray();
            }

            if (pageToken is not null)
            {
                w.WriteString("page_token", pageToken);
            }

            w.WriteString("run_view_type", "ACTIVE_ONLY");
        });

    private static void WriteMetric(Utf8JsonWriter w, MetricPoint m)
    {
        w.WriteStartObject();
        w.WriteString("key", m.Key);
        w.WriteNumber("value", m.Value);
        w.WriteNumber("timestamp", m.Timestamp);
        w.WriteNumber("step", m.Step);
        w.WriteEndObject();
    }

    private static void WriteKeyValues(Utf8JsonWriter w, string name, IReadOnlyList<KeyValue> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStartObject();
            w.WriteString("key", item.Key);
            w.WriteString("value", item.Value);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
