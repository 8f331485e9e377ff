using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Host;

/// <summary>
/// Two answers MLflow clients and tools rely on: HEAD wherever GET is served (Flask adds it to every GET route), and
/// a <c>Retry-After</c> on every 503 so a client knows the outage is worth waiting out.
/// </summary>
public class HeadAndOutageTests(TrackerAppFactory factory) : IClassFixture<TrackerAppFactory>
{
    [Fact]
    public void EveryFunctionThatServesGetAlsoPassesHead()
    {
        var functions = FunctionDefinition.LoadFrom(RepoPaths.FunctionsProject).Where(f => f.IsHttp).ToList();
        Assert.Contains(functions, f => f.Methods?.Contains("get") == true);
        var missing = functions.Where(f => f.Methods is { } m && m.Contains("get", StringComparer.OrdinalIgnoreCase) &&
                                           !m.Contains("head", StringComparer.OrdinalIgnoreCase)).ToList();
        Assert.True(missing.Count == 0, $"GET without HEAD: {string.Join(", ", missing)}.");
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/api/2.0/mlflow/no/such/endpoint")]
    public async Task HeadIsServedWhereGetIs(string path)
    {
        using var client = factory.CreateClient();
        using var get = await client.GetAsync(new Uri(path, UriKind.Relative));
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)));

        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadOnAPostOnlyRouteIsStillA405()
    {
        using var client = factory.CreateClient();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/api/2.0/mlflow/runs/create", UriKind.Relative)));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, head.StatusCode);
    }

    [Fact]
    public async Task AStorageOutageIsA503WithRetryAfter()
    {
        var closed = AzuriteFixture.FreePort(); // nothing listens there: every storage call is refused
        var connectionString = string.Join(';',
            $"TableEndpoint=http://127.0.0.1:{closed}/devstoreaccount1",
            $"BlobEndpoint=http://127.0.0.1:{closed}/devstoreaccount1",
            $"QueueEndpoint=http://127.0.0.1:{closed}/devstoreaccount1",
            "SharedAccessSignature=sv=2024-08-04&ss=bqt&srt=sco&sp=rwdlacu&se=2999-01-01T00:00:00Z&sig=none");
        await using var app = new TrackerAppFactory().WithWebHostBuilder(builder =>
            builder.UseSetting("Tracker:Storage:ConnectionString", connectionString));
        using var client = app.CreateClient();

        using var response = await client.PostAsync(new Uri("/api/2.0/mlflow/experiments/create", UriKind.Relative),
            new StringContent("""{"name":"outage"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("TEMPORARILY_UNAVAILABLE", (string)(await TrackerApp.ReadAsync(response))!["error_code"]!);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { } delta && delta > TimeSpan.Zero && delta <= TimeSpan.FromSeconds(10), $"Retry-After: {response.Headers.RetryAfter}");
    }
}
