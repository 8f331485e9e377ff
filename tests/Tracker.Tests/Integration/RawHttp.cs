using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Tracker.Tests.Integration;

/// <summary>
/// One HTTP/1.1 exchange written byte for byte on a TCP socket, for what HttpClient refuses to send (broken framing,
/// bad request lines) and for seeing exactly what came back (a HEAD answer's absent body).
/// </summary>
public sealed record RawHttp(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>Sends the bytes (the request should say <c>Connection: close</c>) and reads the answer to the end.</summary>
    public static async Task<RawHttp> SendAsync(Uri server, byte[] request, bool headResponse = false)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before it has read everything; the answer is still there to read.
        }
        using var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (IOException) when (received.Length > 0)
        {
            // A reset after the answer (unread request bytes) loses nothing already received.
        }
        return Parse(received.ToArray(), headResponse);
    }

    public static Task<RawHttp> SendAsync(Uri server, string request, bool headResponse = false) =>
        SendAsync(server, Encoding.UTF8.GetBytes(request), headResponse);

    private static RawHttp Parse(byte[] response, bool headResponse)
    {
        var end = response.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, $"No HTTP response head in {response.Length} bytes: {Encoding.UTF8.GetString(response)}");
        var lines = Encoding.ASCII.GetString(response, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1)
            .Select(l => l.Split(':', 2))
            .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => string.Join(", ", g.Select(p => p[1].Trim())), StringComparer.OrdinalIgnoreCase);
        var rest = response[(end + 4)..];
        // A HEAD answer's framing headers describe the GET body that is not sent; the bytes after the head are the body.
        var chunked = !headResponse && headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        return new RawHttp(status, headers, chunked ? Dechunk(rest) : rest);
    }

    private static byte[] Dechunk(byte[] body)
    {
        using var output = new MemoryStream();
        var at = 0;
        while (true)
        {
            var lineEnd = body.AsSpan(at).IndexOf("\r\n"u8);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(body, at, lineEnd).Split(';')[0], 16);
            at += lineEnd + 2;
            if (size == 0) return output.ToArray();
            output.Write(body, at, size);
            at += size + 2;
        }
    }

    /// <summary>Asserts MLflow's error shape and returns the error code.</summary>
    public string MlflowErrorCode()
    {
        Assert.True(Headers.TryGetValue("Content-Type", out var type) && type.StartsWith("application/json", StringComparison.Ordinal),
            $"{Status} without a JSON body: '{Text}'");
        using var json = JsonDocument.Parse(Body);
        var code = json.RootElement.GetProperty("error_code").GetString();
        Assert.False(string.IsNullOrEmpty(code), Text);
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()), Text);
        return code;
    }
}
