using System.Text.Json;
using Tracker.Core;
using Tracker.Core.Lifecycle;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// What the cleanup timer did (issue 10 §4, Tracker's own API; MLflow has none): its summary rows, newest first.
/// Admins only: the rows name experiments and runs across the whole deployment.
/// </summary>
public static class CleanupEndpoints
{
    public const string Root = "/api/2.0/tracker/cleanup";
    public const int DefaultPerPage = 100;
    public const int MaxPerPage = 1000;

    public static IEndpointRouteBuilder MapCleanupEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup(Root).MapGet("/runs", ListCleanupRuns).RequiresAdmin();
        return app;
    }

    /// <summary><c>?max_results=&amp;page_token=</c> → <c>{runs: [...], next_page_token?}</c>.</summary>
    public static async Task<IResult> ListCleanupRuns(RequestArgs args, CleanupStore store, CancellationToken ct)
    {
        var max = args.Int32("max_results") ?? DefaultPerPage;
        if (max is < 1 or > MaxPerPage)
            throw MlflowException.InvalidParameter($"max_results must be between 1 and {MaxPerPage}, got {max}.");
        var page = await store.ListAsync(max, args.String("page_token"), ct);
        return MlflowJson.Page("runs", page, WriteRun);
    }

    private static void WriteRun(Utf8JsonWriter w, CleanupRun run)
    {
        w.WriteStartObject();
        w.WriteString("id", run.Id);
        w.WriteNumber("start_time", run.StartedMs);
        if (run.FinishedMs is { } finished) w.WriteNumber("end_time", finished);
        w.WriteBoolean("is_past_due", run.IsPastDue);
        w.WriteStartObject("enqueued");
        foreach (var kind in new[] { LifecycleMessage.RunDeleted, LifecycleMessage.ExperimentDeleted, LifecycleMessage.VersionStageChanged, LifecycleMessage.ExpireArtifacts })
            w.WriteNumber(kind, run.Enqueued.GetValueOrDefault(kind));
        w.WriteEndObject();
        w.WriteNumber("skipped_count", run.SkippedCount);
        w.WriteStartArray("skipped");
        foreach (var skip in run.Skipped)
        {
            w.WriteStartObject();
            w.WriteString("item", skip.Item);
            w.WriteString("reason", skip.Reason);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (run.Error is not null) w.WriteString("error", run.Error);
        w.WriteEndObject();
    }
}
