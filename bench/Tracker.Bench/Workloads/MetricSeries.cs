namespace Tracker.Bench.Workloads;

/// <summary>
/// Builds log-batch bodies of training-curve-like metric points. Steps are given explicitly so each
/// caller can keep its points disjoint (every point new, never a duplicate the server may skip).
/// Timestamps are real epoch milliseconds that grow with the step, ending about now, so the
/// history order (timestamp, step, value) is also step order.
/// </summary>
public static class MetricSeries
{
    public const int MaxMetricsPerBatch = 1000;

    /// <summary>
    /// One body per call: call <c>c</c> holds steps <c>[c*stepsPerCall, (c+1)*stepsPerCall)</c> for
    /// every key, grouped by step as <c>mlflow.log_metrics(dict, step)</c> would log them.
    /// </summary>
    public static byte[][] Batches(string runId, string[] keys, int firstCall, int callCount, int stepsPerCall)
    {
        if (keys.Length * stepsPerCall > MaxMetricsPerBatch)
        {
            throw new BenchException("internal: batch larger than MLflow's 1000-metric limit");
        }

        var lastStep = (long)(firstCall + callCount) * stepsPerCall;
        var clockStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - lastStep;
        var random = new Random(firstCall);
        var bodies = new byte[callCount][];
        var points = new List<MetricPoint>(keys.Length * stepsPerCall);
        for (var call = 0; call < callCount; call++)
        {
            points.Clear();
            var stepStart = (long)(firstCall + call) * stepsPerCall;
            for (var step = stepStart; step < stepStart + stepsPerCall; step++)
            {
                for (var k = 0; k < keys.Length; k++)
                {
                    var value = Math.Exp(-step / 20_000.0) * (1 + (0.1 * k)) + (0.01 * random.NextDouble());
                    points.Add(new MetricPoint(keys[k], value, clockStart + step, step));
                }
            }

            bodies[call] = WireJson.LogBatch(runId, points);
        }

        return bodies;
    }
}
