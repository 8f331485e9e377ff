using Microsoft.AspNetCore.Http.Features;
using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Auth;
using Tracker.Core.Tracking;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow's artifact proxy (spec §3.2), what the client uses for every <c>mlflow-artifacts:/</c> URI: raw-body upload,
/// download, listing, delete, and multipart upload whose parts go straight to Blob Storage. Paths are relative to
/// <c>mlflow-artifacts:/</c> and must lie in a run's artifact directory.
/// </summary>
public static class ArtifactEndpoints
{
    public const string Root = "/api/2.0/mlflow-artifacts";

    public static IEndpointRouteBuilder MapArtifactEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Root);
        api.MapPut("/artifacts/{**path}", UploadArtifact).Requires(Permission.Edit, Resource.ArtifactPath);
        api.MapGet("/artifacts", ListArtifacts).Requires(Permission.Read, Resource.ArtifactPath);
        api.MapGet("/artifacts/{**path}", DownloadArtifact).Requires(Permission.Read, Resource.ArtifactPath);
        api.MapDelete("/artifacts/{**path}", DeleteArtifact).Requires(Permission.Manage, Resource.ArtifactPath);
        api.MapPost("/mpu/create/{**path}", CreateMultipartUpload).Requires(Permission.Edit, Resource.MultipartPath);
        api.MapPost("/mpu/complete/{**path}", CompleteMultipartUpload).Requires(Permission.Edit, Resource.MultipartPath);
        api.MapPost("/mpu/abort/{**path}", AbortMultipartUpload).Requires(Permission.Edit, Resource.MultipartPath);
        return app;
    }

    /// <summary>The tracking API's own listing (spec #26): paths relative to the run's artifact root, plus that root.</summary>
    public static RouteGroupBuilder MapRunArtifactEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/artifacts/list", ListRunArtifacts).Requires(Permission.Read, Resource.Run);
        return api;
    }

    public static async Task<IResult> ListRunArtifacts(RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
        var directory = ArtifactLocation.ForRun(args.RunId(), args.String("path"), allowRoot: true);
        var files = await store.ListAsync(directory, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteString("root_uri", RunIds.ArtifactUri(directory.ExperimentId, directory.OwnerId));
            w.WriteFiles(files, prefix: directory.Path.Length == 0 ? "" : directory.Path + "/");
        });
    }

    /// <summary>The body streams into Blob Storage block by block; artifacts have no size limit of their own (spec A1).</summary>
    public static async Task<IResult> UploadArtifact(string? path, HttpContext context, ArtifactStore store, CancellationToken ct)
    {
        var at = ArtifactLocation.FromProxyPath(path, allowRoot: false);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        await store.UploadAsync(at, context.Request.Body, context.Request.ContentLength, ct);
        return MlflowJson.Empty();
    }

    /// <summary>Streams the file (what every MLflow client can read), or redirects to a signed URL if configured to.</summary>
    public static async Task<IResult> DownloadArtifact(string? path, HttpContext context, ArtifactStore store, CancellationToken ct)
    {
        var at = ArtifactLocation.FromProxyPath(path, allowRoot: false);
        var download = await store.OpenAsync(at, ct);
        if (download.Redirect is { } url) return Results.Redirect(url.AbsoluteUri, permanent: false, preserveMethod: true);
        await using var content = download.Content!;
        var response = context.Response;
        response.ContentType = download.ContentType;
        response.ContentLength = download.Length;
        // Untrusted bytes from Tracker's own origin: a download, never a page, and sandboxed even if something renders it.
        response.Headers.ContentDisposition = ArtifactStore.ContentDisposition(at.FileName);
        response.Headers.ContentSecurityPolicy = "sandbox";
        await content.CopyToAsync(response.Body, ct);
        return Results.Empty;
    }

    /// <summary>Basenames of the directory's entries; empty for a file or a missing path (the client's "is it a directory" test).</summary>
    public static async Task<IResult> ListArtifacts(RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
        var files = await store.ListAsync(ArtifactLocation.FromProxyPath(args.String("path"), allowRoot: true), ct);
        return MlflowJson.Object(w => w.WriteFiles(files, prefix: ""));
    }

    public static async Task<IResult> DeleteArtifact(string? path, ArtifactStore store, CancellationToken ct)
    {
        await store.DeleteAsync(ArtifactLocation.FromProxyPath(path, allowRoot: true), ct);
        return MlflowJson.Empty();
    }

    /// <summary>
    /// The file is <c>&lt;path&gt;/&lt;basename of the client's local file&gt;</c>; each part gets its own Put Block URL.
    /// MLflow's client asks for all of them at once (no paging in its protocol), so the answer streams out as the URLs
    /// are made: memory stays flat up to the 50,000 parts' ~19 MiB.
    /// </summary>
    public static async Task<IResult> CreateMultipartUpload(string? path, RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
                var at = MultipartTarget(path, args);
        var upload = await store.CreateMultipartUploadAsync(at, args.Int64("num_parts") ?? 0, ct);
        return MlflowJson.Streamed(async (w, flush) =>
        {
            w.WriteString("upload_id", upload.UploadId);
            w.WriteStartArray("credentials");
            for (var part = 1; part <= upload.PartCount; part++)
            {
                w.WriteStartObject();
                w.WriteString("url", upload.PartUrl(part));
                w.WriteNumber("part_number", part);
                w.WriteStartObject("headers");
                w.WriteEndObject();
                w.WriteEndObject();
                if (part % 200 == 0) await flush(); // about 80 KB at a time
            }
            w.WriteEndArray();
        });
    }

    public static async Task<IResult> CompleteMultipartUpload(string? path, RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
                var at = MultipartTarget(path, args);
        var parts = args.Objects("parts").Select(part => part.Int64("part_number") ?? 0).ToList();
        await store.CompleteMultipartUploadAsync(at, args.String("upload_id"), parts, ct);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> AbortMultipartUpload(string? path, RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
                await store.AbortMultipartUploadAsync(MultipartTarget(path, args), args.String("upload_id"), ct);
        return MlflowJson.Empty();
    }

    /// <summary>
    /// Outside a run's artifact directory a multipart upload gets MLflow's own "not supported" answer: MLflow 2.10 and
    /// 2.11 clients send only the path below the run (<c>mpu/create/&lt;dir&gt;</c>), and on exactly this answer
    /// fall back to one PUT of the file, which they address correctly.
    /// </summary>
    private static ArtifactLocation MultipartTarget(string? directory, RequestArgs args) =>
        (ArtifactLocation.TryFromProxyPath(directory, allowRoot: true) ?? throw MultipartNotSupported)
        .Child(ArtifactPath.FileName(args.RequiredString("path")));

    /// <summary><c>mlflow.exceptions._UnsupportedMultipartUploadException</c>: the client matches the start of the message.</summary>
    private static MlflowException MultipartNotSupported =>
        new(ErrorCode.NotImplemented, "Multipart upload is not supported for the current artifact repository");
}
