using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Tracker.Core.Webhooks;

/// <summary>
/// The one HTTP client that calls webhook URLs, shaped by security baseline §1.3 and case 10. Its connect callback
/// resolves the host itself, refuses the connection when ANY resolved address is not public unicast
/// (<see cref="DestinationAddresses"/>), and connects to the checked addresses, so there is no second lookup for DNS
/// rebinding to answer differently. Redirects are not followed (a 3xx is the answer), no proxy is used, connecting
/// gets 5 s and the whole exchange <see cref="WebhookOptions.RequestTimeout"/>, and at most
/// <see cref="MaxResponseBytes"/> of the response body are read. Requests are signed as MLflow 3 signs them
/// (mlflow/webhooks/delivery.py): <c>X-MLflow-Signature: v1,&lt;base64 HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{body}")&gt;</c>,
/// with <c>X-MLflow-Delivery-Id</c> and <c>X-MLflow-Timestamp</c> (unix seconds).
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const string SignatureHeader = "X-MLflow-Signature";
    public const string TimestampHeader = "X-MLflow-Timestamp";
    public const string DeliveryIdHeader = "X-MLflow-Delivery-Id";
    public const string SignatureVersion = "v1";
    public const int MaxResponseBytes = 4096;

    private readonly HttpClient _client;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;

    public WebhookSender(IOptions<WebhookOptions> options, TimeProvider time)
    {
        var settings = options.Value;
        _time = time;
        _timeout = settings.RequestTimeout;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = settings.RequestTimeout < TimeSpan.FromSeconds(5) ? settings.RequestTimeout : TimeSpan.FromSeconds(5),
            // A pooled connection was checked when it was opened; new ones (after a minute) resolve and check again.
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            MaxResponseHeadersLength = 64, // KiB
            ConnectCallback = (context, ct) => ConnectCheckedAsync(context.DnsEndPoint, settings.AllowLoopbackForTests, ct),
        };
        _client = new HttpClient(handler) { Timeout = settings.RequestTimeout };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("Tracker-Webhooks/1.0");
    }

    /// <summary>MLflow's <c>_generate_hmac_signature</c>: <c>v1,</c> + base64 of HMAC-SHA256 over <c>{deliveryId}.{timestamp}.{payload}</c>.</summary>
    public static string Sign(string secret, string deliveryId, string timestamp, string payload) =>
        SignatureVersion + "," + Convert.ToBase64String(
            HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{deliveryId}.{timestamp}.{payload}")));

    /// <summary>POSTs <paramref name="payload"/> (JSON) to <paramref name="url"/>, signed when there is a secret. Never throws
    /// for the destination's failures: they are the outcome.</summary>
    public async Task<DeliveryOutcome> SendAsync(string url, string? secret, string deliveryId, string payload, CancellationToken ct)
    {
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(DeliveryIdHeader, deliveryId);
        request.Headers.Add(TimestampHeader, timestamp);
        if (!string.IsNullOrEmpty(secret)) request.Headers.Add(SignatureHeader, Sign(secret, deliveryId, timestamp, payload));
        // HttpClient.Timeout ends at the response headers; this bound also covers reading the (bounded) body.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(_timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            return new DeliveryOutcome((int)response.StatusCode, await ReadLimitedAsync(response, limit.Token), null, Refused: false);
        }
        catch (Exception e) when (RefusalIn(e) is { } refused)
        {
            return new DeliveryOutcome(null, null, refused.Message, Refused: true);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            // The message says what failed (connection refused, timeout) without echoing anything the destination sent.
            return new DeliveryOutcome(null, null, e is OperationCanceledException ? "The request timed out." : Describe(e), Refused: false);
        }
    }

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[MaxResponseBytes];
        var read = 0;
        while (read < buffer.Length && await body.ReadAsync(buffer.AsMemory(read), ct) is var n && n > 0) read += n;
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException s) return $"{e.GetType().Name}: {s.SocketErrorCode}";
        return $"{e.GetType().Name}: {e.Message}";
    }

    private static WebhookDestinationRefusedException? RefusalIn(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is WebhookDestinationRefusedException refused) return refused;
        return null;
    }

    /// <summary>Resolve, check every address, connect to a checked one.</summary>
    internal static async ValueTask<Stream> ConnectCheckedAsync(DnsEndPoint endpoint, bool allowLoopback, CancellationToken ct)
    {
        var host = endpoint.Host.TrimStart('[').TrimEnd(']');
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        if (addresses.Length == 0) throw new WebhookDestinationRefusedException($"The webhook host '{host}' resolved to no address.");
        foreach (var address in addresses)
        {
            if (allowLoopback && IPAddress.IsLoopback(address)) continue;
            if (DestinationAddresses.Refusal(address) is { } why)
                throw new WebhookDestinationRefusedException(
                    $"Webhook delivery refused: '{host}' resolves to {address}, which is {why}; webhooks may only reach public addresses.");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endpoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>How one delivery went: the HTTP status (null when there was no answer), a bounded body, or the failure.</summary>
public sealed record DeliveryOutcome(int? Status, string? Body, string? Error, bool Refused)
{
    public bool Delivered => Status is >= 200 and < 300;

    /// <summary>Worth another try later: no answer (network, timeout), 5xx or 429. A refused destination never is.</summary>
    public bool Retriable => !Refused && (Status is null || Status >= 500 || Status == 429);
}

/// <summary>The destination resolved to an address deliveries may not reach.</summary>
public sealed class WebhookDestinationRefusedException(string message) : Exception(message);
