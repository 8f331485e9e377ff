using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Functions.Http;

namespace Tracker.Functions.Auth;

/// <summary>What a permission is checked on: an experiment (runs, logged models, metrics and artifacts count as their experiment's) or a registered model.</summary>
public readonly record struct Target(TargetKind Kind, string Id);

public enum TargetKind { Experiment, RegisteredModel }

/// <summary>
/// How a route's request names the resource its permission is checked on. Each reads the same once-parsed
/// <see cref="RequestArgs"/> (or route values) the handler executes with, so the two can never disagree; a request whose
/// resource cannot be told is refused (a malformed path with the handler's own 400, a run id Tracker never issued with
/// its 404), never let through. Only a name that no experiment holds resolves to nothing to check, so the handler
/// answers the 404 that <c>mlflow.set_experiment</c> relies on to create it.
/// </summary>
public sealed class Resource(string name, Func<HttpContext, ValueTask<IReadOnlyList<Target>>> resolve)
{
    public ValueTask<IReadOnlyList<Target>> ResolveAsync(HttpContext context) => resolve(context);

    public override string ToString() => name;

    /// <summary><c>experiment_id</c>.</summary>
    public static readonly Resource Experiment = FromArgs("experiment", args => [ExperimentTarget(args.RequiredString("experiment_id"))]);

    /// <summary><c>experiment_id</c>, or the Default experiment when it is empty (as <c>runs/create</c> has it).</summary>
    public static readonly Resource ExperimentOrDefault = FromArgs("experiment (or Default)", args =>
        [ExperimentTarget(args.String("experiment_id") is { Length: > 0 } id ? id : TrackingStore.DefaultExperimentId)]);

    /// <summary>Every id of a list field (<c>experiment_ids</c>): all of them must be allowed.</summary>
    public static Resource Experiments(string field) => FromArgs($"experiments of {field}", args => args.StringList(field).Select(ExperimentTarget).ToList());

    /// <summary><c>experiment_name</c>, looked up (a name nobody holds resolves to nothing, and the handler answers 404).</summary>
    public static readonly Resource ExperimentByName = new("experiment (by name)", async context =>
    {
        var args = await RequestArgs.ForRequestAsync(context);
        var store = context.RequestServices.GetRequiredService<TrackingStore>();
        var experiment = await store.GetExperimentByNameAsync(args.RequiredString("experiment_name"), context.RequestAborted);
        return experiment is null ? [] : [new Target(TargetKind.Experiment, experiment.ExperimentId)];
    });

    /// <summary><c>run_id</c> (or <c>run_uuid</c>): a run id carries its experiment, so this reads no storage.</summary>
    public static readonly Resource Run = FromArgs("run's experiment", args => [RunTarget(args.RunId())]);

    /// <summary>Every id in a list field (<c>run_id</c> repeated, <c>run_ids</c>): all of them must be allowed.</summary>
    public static Resource Runs(string field) => FromArgs($"experiments of {field}", args => args.StringList(field, idList: true).Select(RunTarget).ToList());

    /// <summary>The <c>run_uuid</c> query parameter of routes whose body is a file, not JSON.</summary>
    public static readonly Resource RunInQuery = new("run's experiment (query)", context =>
        ValueTask.FromResult<IReadOnlyList<Target>>(RequestArgs.FromQuery(context.Request).String("run_uuid") is { Length: > 0 } runId
            ? [RunTarget(runId)]
            : throw MlflowException.InvalidParameter("Request must specify run_uuid.")));

    /// <summary>The proxy path (<c>{exp}/{run}/artifacts/…</c> or <c>{exp}/models/{model}/artifacts/…</c>) in the route, or in the <c>path</c> query parameter of the listing.</summary>
    public static readonly Resource ArtifactPath = new("artifact path's experiment", async context =>
    {
        var path = context.Request.RouteValues.TryGetValue("path", out var routed) ? routed as string : (await RequestArgs.ForRequestAsync(context)).String("path");
        return [new Target(TargetKind.Experiment, ArtifactLocation.FromProxyPath(path, allowRoot: true).ExperimentId)];
    });

    /// <summary>
    /// A multipart upload's directory. One outside any run's artifacts resolves to nothing to check: the handler then
    /// only answers MLflow's "not supported", on which 2.10 and 2.11 clients fall back to a single PUT (checked itself).
    /// </summary>
    public static readonly Resource MultipartPath = new("multipart upload's experiment", context =>
        ValueTask.FromResult<IReadOnlyList<Target>>(
            ArtifactLocation.TryFromProxyPath(context.Request.RouteValues["path"] as string, allowRoot: true) is { } at
                ? [new Target(TargetKind.Experiment, at.ExperimentId)]
                : []));

    /// <summary><c>run_id</c>, or an <c>artifact_uri</c> (<c>runs:/…</c>, <c>mlflow-artifacts:/…</c>) that names a run.</summary>
    public static readonly Resource ArtifactTarget = FromArgs("artifact's experiment", args => args.String("artifact_uri") is { } uri
        ? [new Target(TargetKind.Experiment, ArtifactLocation.FromUri(uri, allowRoot: true).ExperimentId)]
        : [RunTarget(args.RequiredString("run_id"))]);

    /// <summary>
    /// The <c>model_id</c> route value of a logged-model route: a model id carries its experiment, so this reads no
    /// storage; an id Tracker never issued is the handler's own 404.
    /// </summary>
    public static readonly Resource LoggedModel = new("logged model's experiment", context =>
    {
        var modelId = context.Request.RouteValues["model_id"] as string ?? "";
        return ValueTask.FromResult<IReadOnlyList<Target>>(
            [new Target(TargetKind.Experiment, LoggedModelIds.ExperimentOf(modelId) ?? throw LoggedModelIds.NotFound(modelId))]);
    });

    /// <summary>
    /// <c>name</c> of a registered model (model versions are checked against their model), in the one spelling the
    /// registry stores (<see cref="RegistryNames"/>), so the name checked is the name the handler acts on.
    /// </summary>
    public static readonly Resource RegisteredModel = FromArgs("registered model", args =>
        [new Target(TargetKind.RegisteredModel, RegistryNames.Canonical(args.RequiredString("name")))]);

    private static Resource FromArgs(string name, Func<RequestArgs, IReadOnlyList<Target>> resolve) =>
        new(name, async context => resolve(await RequestArgs.ForRequestAsync(context)));

    /// <summary>An id no experiment can have: denied (an admin, who is not checked, gets the handler's own answer).</summary>
    private static Target ExperimentTarget(string id) =>
        new(TargetKind.Experiment, RunIds.CanonicalExperimentId(id) ?? throw AuthMiddleware.Denied());

    private static Target RunTarget(string runId) =>
        new(TargetKind.Experiment, RunIds.ExperimentOf(runId) ?? throw MlflowException.NotFound($"Run with id={Echo.Truncate(runId)} not found"));
}
