using System.Net;
using System.Text;
using System.Web;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;
using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// User delegation SAS against a real Azurite with OAuth: what a client can do with the URLs the signer makes, and how
/// often the signer asks storage for a key.
/// </summary>
public sealed class UserDelegationSasSignerTests(AzuriteOAuthFixture azurite) : IClassFixture<AzuriteOAuthFixture>, IAsyncLifetime
{
    private readonly string _container = "uds-" + Guid.NewGuid().ToString("N")[..12];
    private readonly KeyRequestCounter _keyRequests = new();
    private readonly HttpClient _http = azurite.CreateHttpClient();
    private BlobServiceClient _service = null!;
    private BlobContainerClient _containerClient = null!;

    public async Task InitializeAsync()
    {
        _service = azurite.CreateServiceClient(policies: _keyRequests);
        _containerClient = _service.GetBlobContainerClient(_container);
        await _containerClient.CreateAsync();
    }

    public Task DisposeAsync()
    {
        _http.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task UploadSasWritesTheBlobAndReadSasReadsItBack()
    {
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);
        var blob = _containerClient.GetBlobClient("runs/r1/artifacts/model.bin");
        var bytes = Encoding.UTF8.GetBytes("weights");

        var upload = await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Create | BlobSasPermissions.Write), default);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(upload, bytes)).StatusCode);

        var readSas = Scoped(blob, BlobSasPermissions.Read);
        readSas.ContentDisposition = "attachment; filename=\"model.bin\"";
        using var read = await _http.GetAsync(await signer.SignAsync(blob, readSas, default));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(bytes, await read.Content.ReadAsByteArrayAsync());
        Assert.Equal("attachment; filename=\"model.bin\"", read.Content.Headers.ContentDisposition?.ToString());

        var query = HttpUtility.ParseQueryString(upload.Query);
        Assert.Equal(FakeEntraCredential.ObjectId.ToString(), query["skoid"]);
        Assert.Equal("b", query["sr"]);
    }

    [Fact]
    public async Task ReadSasCannotWrite()
    {
        var blob = await UploadAsync("read-only.txt");
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);

        var read = await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read), default);

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(read)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(read, [1, 2, 3])).StatusCode);
    }

    [Fact]
    public async Task SasForOneBlobDoesNotOpenAnother()
    {
        var a = await UploadAsync("a.txt");
        var b = await UploadAsync("b.txt");
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);

        var readA = await signer.SignAsync(a, Scoped(a, BlobSasPermissions.Read), default);
        var readAOnB = new UriBuilder(readA) { Path = b.Uri.AbsolutePath }.Uri;
        var writeA = await signer.SignAsync(a, Scoped(a, BlobSasPermissions.Create | BlobSasPermissions.Write), default);
        var writeAOnB = new UriBuilder(writeA) { Path = b.Uri.AbsolutePath }.Uri;

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(readA)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync(readAOnB)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(writeAOnB, [1])).StatusCode);
    }

    [Fact]
    public async Task TamperedSignatureIsRefused()
    {
        var blob = await UploadAsync("tamper.txt");
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);
        var read = await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read), default);

        var query = HttpUtility.ParseQueryString(read.Query);
        var sig = Convert.FromBase64String(query["sig"]!);
        sig[0] ^= 1;
        query["sig"] = Convert.ToBase64String(sig);
        var tampered = new UriBuilder(read) { Query = query.ToString() }.Uri;

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(read)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync(tampered)).StatusCode);
    }

    [Fact]
    public async Task ExpiredSasIsRefused()
    {
        var blob = await UploadAsync("expired.txt");
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);
        var sas = Scoped(blob, BlobSasPermissions.Read);
        sas.ExpiresOn = DateTimeOffset.UtcNow.AddSeconds(-5);

        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync(await signer.SignAsync(blob, sas, default))).StatusCode);
    }

    [Fact]
    public async Task ManyConcurrentSignaturesShareOneKeyRequest()
    {
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);
        var blob = _containerClient.GetBlobClient("many.txt");

        var urls = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read), default).AsTask()));
        await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Create | BlobSasPermissions.Write), default);

        Assert.Equal(50, urls.Length);
        Assert.Equal(1, _keyRequests.Count);
    }

    [Fact]
    public async Task KeyIsRenewedOnlyWhenItNoLongerCoversTheExpiryPlusMargin()
    {
        var start = DateTimeOffset.UtcNow;
        var time = new ManualTime(start);
        var signer = new UserDelegationSasSigner(_service, time);
        var blob = _containerClient.GetBlobClient("renew.txt");

        var first = await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read, time.GetUtcNow()), default);
        Assert.Equal(1, _keyRequests.Count);
        var firstKeyExpiry = KeyExpiry(first);
        Assert.Equal(start + UserDelegationSasSigner.KeyLifetime, firstKeyExpiry, TimeSpan.FromSeconds(1));
        Assert.Equal(start - UserDelegationSasSigner.ClockSkew, KeyStart(first), TimeSpan.FromSeconds(1));

        // SAS expiring 10 min after now still ends >= 5 min before the key does: same key.
        time.Now = firstKeyExpiry - UserDelegationSasSigner.Margin - TimeSpan.FromMinutes(10);
        Assert.Equal(firstKeyExpiry, KeyExpiry(await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read, time.Now), default)));
        Assert.Equal(1, _keyRequests.Count);

        // One second later the margin would be breached: a fresh key, valid from the new "now".
        time.Now += TimeSpan.FromSeconds(1);
        var renewed = await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read, time.Now), default);
        Assert.Equal(2, _keyRequests.Count);
        Assert.Equal(time.Now + UserDelegationSasSigner.KeyLifetime, KeyExpiry(renewed), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task SasOutlivingAnyKeyIsRefusedBeforeAskingStorage()
    {
        var signer = new UserDelegationSasSigner(_service, TimeProvider.System);
        var blob = _containerClient.GetBlobClient("long.txt");
        var sas = Scoped(blob, BlobSasPermissions.Read);
        sas.ExpiresOn = DateTimeOffset.UtcNow + UserDelegationSasSigner.KeyLifetime;

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => signer.SignAsync(blob, sas, default).AsTask());
        Assert.Equal(0, _keyRequests.Count);
    }

    [Fact]
    public async Task TransientKeyFailureIsRetryableAndDoesNotStick()
    {
        var failOnce = new FailFirstKeyRequest(new RequestFailedException(503, "Server busy", "ServerBusy", null));
        var signer = new UserDelegationSasSigner(azurite.CreateServiceClient(policies: [failOnce, _keyRequests]), TimeProvider.System);
        var blob = await UploadAsync("transient.txt");

        var e = await Assert.ThrowsAsync<MlflowException>(() =>
            signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read), default).AsTask());
        Assert.Equal(ErrorCode.TemporarilyUnavailable, e.Code);

        var read = await signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read), default);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(read)).StatusCode);
        Assert.Equal(1, _keyRequests.Count);
    }

    [Fact]
    public async Task RefusedKeyRequestNamesTheMissingRole()
    {
        // Azurite answers a token for another audience with a real 403, as Azure does for an identity without the role.
        var service = azurite.CreateServiceClient(new FakeEntraCredential("https://vault.azure.net"));
        var signer = new UserDelegationSasSigner(service, TimeProvider.System);
        var blob = service.GetBlobContainerClient(_container).GetBlobClient("refused.txt");

        var e = await Assert.ThrowsAsync<MlflowException>(() =>
            signer.SignAsync(blob, Scoped(blob, BlobSasPermissions.Read), default).AsTask());
        Assert.Equal(ErrorCode.InternalError, e.Code);
        Assert.Contains("Storage Blob Delegator", e.Message);
    }

    private static BlobSasBuilder Scoped(BlobClient blob, BlobSasPermissions permissions, DateTimeOffset? now = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        var sas = new BlobSasBuilder
        {
            BlobContainerName = blob.BlobContainerName,
            BlobName = blob.Name,
            Resource = "b",
            StartsOn = at.AddMinutes(-15),
            ExpiresOn = at.AddMinutes(10),
            Protocol = SasProtocol.Https,
        };
        sas.SetPermissions(permissions);
        return sas;
    }

    private async Task<BlobClient> UploadAsync(string name)
    {
        var blob = _containerClient.GetBlobClient(name);
        await blob.UploadAsync(BinaryData.FromString(name));
        return blob;
    }

    private async Task<HttpResponseMessage> PutAsync(Uri url, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(body) };
        request.Headers.Add("x-ms-blob-type", "BlockBlob");
        return await _http.SendAsync(request);
    }

    private static DateTimeOffset KeyExpiry(Uri sas) => DateTimeOffset.Parse(HttpUtility.ParseQueryString(sas.Query)["ske"]!);

    private static DateTimeOffset KeyStart(Uri sas) => DateTimeOffset.Parse(HttpUtility.ParseQueryString(sas.Query)["skt"]!);

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>Counts Get User Delegation Key calls that reach the wire.</summary>
    private sealed class KeyRequestCounter : HttpPipelineSynchronousPolicy
    {
        private int _count;
        public int Count => Volatile.Read(ref _count);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (IsKeyRequest(message)) Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Fails the first key request the way the SDK would on a 503, before it reaches storage.</summary>
    private sealed class FailFirstKeyRequest(RequestFailedException failure) : HttpPipelinePolicy
    {
        private int _failed;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (IsKeyRequest(message) && Interlocked.Exchange(ref _failed, 1) == 0) throw failure;
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (IsKeyRequest(message) && Interlocked.Exchange(ref _failed, 1) == 0) throw failure;
            return ProcessNextAsync(message, pipeline);
        }
    }

    private static bool IsKeyRequest(HttpMessage message) =>
        message.Request.Uri.Query.Contains("comp=userdelegationkey", StringComparison.OrdinalIgnoreCase);
}
