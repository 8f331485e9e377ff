using System.Text;

namespace Tracker.Bench;

/// <summary>
/// The bench's HttpClients: one for API calls, shared by all workloads and the startup probe, and one for artifact
/// bytes, whose requests may run for minutes.
/// </summary>
public static class BenchHttp
{
    /// <summary>A 5000 MiB artifact at 10 MB/s still fits; the bench's hard limit bounds it anyway.</summary>
    private static readonly TimeSpan TransferTimeout = TimeSpan.FromMinutes(10);

    /// <summary>For API calls, with the MLflow Python client's per-request limit (MLFLOW_HTTP_REQUEST_TIMEOUT).</summary>
    public static HttpClient CreateClient() => Create(TimeSpan.FromSeconds(120));

    /// <summary>
    /// For artifact bytes, to the server or straight to Blob Storage. Redirects are followed by the artifact client
    /// itself, so it can tell (and report) that the server sent one, and so no header follows the bytes elsewhere.
    /// </summary>
    public static HttpClient CreateTransferClient() => Create(TransferTimeout);

    private static HttpClient Create(TimeSpan timeout) =>
        new(new SocketsHttpHandler
        {
            // 8 concurrent writers plus search setup tasks must never queue behind the pool.
            MaxConnectionsPerServer = 32,
            // Loopback only: an environment proxy would distort every figure.
            UseProxy = false,
            // Never followed here: for API calls a redirect means the URL is wrong; artifact redirects are followed by hand.
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        })
        {
            Timeout = timeout,
            DefaultRequestHeaders = { { "User-Agent", "tracker-bench/1.0" } },
        };

    /// <summary>The error for a non-2xx answer: the call, the status and (the start of) the body.</summary>
    public static BenchException Failure(HttpMethod method, string target, HttpResponseMessage response, byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        if (text.Length > 4000)
        {
            text = text[..4000] + "…";
        }

        return new BenchException($"{method} {target} failed: {(int)response.StatusCode} {response.ReasonPhrase}\n{text}");
    }
}
