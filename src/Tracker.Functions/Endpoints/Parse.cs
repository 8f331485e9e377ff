using Tracker.Core;
using Tracker.Core.Tracking;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>Reading MLflow request messages shared by several endpoints.</summary>
internal static class Parse
{
    public static IReadOnlyList<KeyValue> KeyValues(RequestArgs args, string field) =>
        args.Objects(field).Select(t => new KeyValue(t.RequiredString("key"), t.String("value") ?? "")).ToList();

    public static Metric Metric(RequestArgs m) => new(
        m.RequiredString("key"),
        m.Double("value") ?? throw MlflowException.MissingParameter(Path(m, "value")),
        m.Int64("timestamp") ?? throw MlflowException.MissingParameter(Path(m, "timestamp")),
        m.Int64("step") ?? 0);

    private static string Path(RequestArgs m, string field) => m.Qualify(field);

    public static ViewType ViewType(RequestArgs args, string field) => args.String(field) switch
    {
        null or "" => Core.Tracking.ViewType.ActiveOnly,
        "ACTIVE_ONLY" or "1" => Core.Tracking.ViewType.ActiveOnly,
        "DELETED_ONLY" or "2" => Core.Tracking.ViewType.DeletedOnly,
        "ALL" or "3" => Core.Tracking.ViewType.All,
        var other => throw MlflowException.InvalidParameter(
            $"Invalid value \"{Echo.Truncate(other)}\" for parameter '{field}' supplied. Valid values are ACTIVE_ONLY, DELETED_ONLY, ALL."),
    };

    public static string? RunStatus(RequestArgs args)
    {
        if (args.String("status") is not { } status) return null;
        return Core.Tracking.RunStatus.Parse(status) ?? throw MlflowException.InvalidParameter(
            $"Invalid value \"{Echo.Truncate(status)}\" for parameter 'status' supplied. Valid values are {string.Join(", ", Core.Tracking.RunStatus.Names)}.");
    }
}
