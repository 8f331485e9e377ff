using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Auth;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// Tracker's own artifact API for any HTTP client (curl, a job without MLflow): ask for a signed URL for
/// <c>(run_id, path)</c>, then move the bytes straight to or from Blob Storage. Tracker never sees them.
/// </summary>
public static class TrackerArtifactEndpoints
{
    public const string Root = "/api/2.0/tracker/artifacts";

    public static IEndpointRouteBuilder MapTrackerArtifactEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Root);
        api.MapPost("/upload-url", UploadUrl).Requires(Permission.Edit, Resource.Run);
        api.MapPost("/download-url", DownloadUrl).Requires(Permission.Read, Resource.ArtifactTarget);
        return app;
    }

    /// <summary><c>{run_id, path}</c> → a URL to PUT the file to (create and write on that one blob).</summary>
    public static async Task<IResult> UploadUrl(RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
        var at = ArtifactLocation.ForRun(args.RequiredString("run_id"), args.RequiredString("path"), allowRoot: false);
        return SignedUrlResult(at, await store.UploadUrlAsync(at, ct));
    }

    /// <summary>
    /// <c>{run_id, path}</c>, or <c>{artifact_uri}</c> as runs/get or get-download-uri give it (<c>runs:/…</c>,
    /// <c>mlflow-artifacts:/…</c>) → a URL to GET the existing file from (read on that one blob). Not both: they could
    /// name two runs, one checked and the other read.
    /// </summary>
    public static async Task<IResult> DownloadUrl(RequestArgs args, ArtifactStore store, CancellationToken ct)
    {
        if (args.Has("artifact_uri") && (args.Has("run_id") || args.Has("path")))
            throw MlflowException.InvalidParameter("Ambiguous request: give either 'artifact_uri' or 'run_id' and 'path', not both.");
        var at = args.String("artifact_uri") is { } uri
            ? ArtifactLocation.FromUri(uri, allowRoot: false)
            : ArtifactLocation.ForRun(args.RequiredString("run_id"), args.RequiredString("path"), allowRoot: false);
        return SignedUrlResult(at, await store.DownloadUrlAsync(at, ct));
    }

    private static IResult SignedUrlResult(ArtifactLocation at, SignedUrl signed) => MlflowJson.Object(w =>
    {
        w.WriteString("url", signed.Url.AbsoluteUri);
        w.WriteString("method", signed.Method);
        w.WriteStartObject("headers");
        foreach (var (name, value) in signed.Headers) w.WriteString(name, value);
        w.WriteEndObject();
        w.WriteNumber("expires_at", signed.ExpiresAt.ToUnixTimeMilliseconds());
        w.WriteString("artifact_uri", at.ToString());
    });
}
