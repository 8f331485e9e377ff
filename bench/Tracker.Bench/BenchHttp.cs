namespace Tracker.Bench;

/// <summary>The one HttpClient the bench shares between all workloads and the startup probe.</summary>
public static class BenchHttp
{
    public static HttpClient CreateClient() =>
        new(new SocketsHttpHandler
        {
            // 8 concurrent writers plus search setup tasks must never queue behind the pool.
            MaxConnectionsPerServer = 32,
            // Loopback only: an environment proxy would distort every figure.
            UseProxy = false,
            // A redirect would mean the URL is wrong; fail on it rather than time the detour.
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        })
        {
            // Same per-request limit as the MLflow Python client (MLFLOW_HTTP_REQUEST_TIMEOUT).
            Timeout = TimeSpan.FromSeconds(120),
            DefaultRequestHeaders = { { "User-Agent", "tracker-bench/1.0" } },
        };
}
