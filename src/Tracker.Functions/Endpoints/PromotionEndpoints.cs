using System.Text.Json;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Promotions;
using Tracker.Core.Registry;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// Tracker's promotion API (issue 10 §1; MLflow has none): a job asks for a promotion, the queue-triggered consumer
/// (<see cref="PromotionService.ProcessAsync"/>) evaluates the gate and applies or refuses it. Requesting needs EDIT on
/// the model, as <c>transition-stage</c> does; reading a promotion needs READ on its model.
/// </summary>
public static class PromotionEndpoints
{
    public const string Root = "/api/2.0/tracker/promotions";
    public const int DefaultPerPage = 100;
    public const int MaxPerPage = 1000;

    /// <summary>The model of the promotion <c>id</c> names. An id nobody issued resolves to nothing to check, and the
    /// handler answers its 404 (an id is unguessable, so its existence tells nothing about a model).</summary>
    public static readonly Resource PromotionModel = new("promotion's registered model", async context =>
    {
        var args = await RequestArgs.ForRequestAsync(context);
        var store = context.RequestServices.GetRequiredService<PromotionStore>();
        var found = await store.GetAsync(args.RequiredString("id"), context.RequestAborted);
        return found is { } f ? [new Target(TargetKind.RegisteredModel, RegistryNames.Canonical(f.Promotion.Name))] : [];
    });

    public static IEndpointRouteBuilder MapPromotionEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Root);
        api.MapPost("/create", CreatePromotion).Requires(Permission.Edit, Resource.RegisteredModel);
        api.MapGet("/get", GetPromotion).Requires(Permission.Read, PromotionModel);
        api.MapGet("/search", SearchPromotions).Requires(Permission.Read, Resource.RegisteredModel);
        return app;
    }

    /// <summary><c>{name, version, target: {stage}|{alias}, archive_existing?, gate?}</c> → 202 <c>{promotion}</c>, pending.</summary>
    public static async Task<IResult> CreatePromotion(RequestArgs args, Caller caller, PromotionService promotions, CancellationToken ct)
    {
        var name = args.RequiredString("name");
        var version = args.Int64("version") ?? throw MlflowException.MissingParameter("version");
        var target = args.Object("target") ?? throw MlflowException.MissingParameter("target");
        PromotionGate? gate = null;
        if (args.Object("gate") is { } g)
        {
            gate = new PromotionGate(
                g.RequiredString("metric"), g.RequiredString("direction"),
                g.Double("max_regression") ?? throw MlflowException.MissingParameter("gate.max_regression"),
                g.Double("min_improvement"), g.Int64("baseline"));
        }
        var request = new PromotionRequest(name, version, new PromotionTarget(target.String("stage"), target.String("alias")),
            args.Bool("archive_existing") ?? true, gate);
        var promotion = await promotions.RequestAsync(caller.UserName, request, ct);
        return MlflowJson.Object(w => w.WritePromotion(promotion), StatusCodes.Status202Accepted);
    }

    /// <summary><c>?id=</c>.</summary>
    public static async Task<IResult> GetPromotion(RequestArgs args, PromotionService promotions, CancellationToken ct)
    {
        var promotion = await promotions.GetAsync(args.RequiredString("id"), ct);
        return MlflowJson.Object(w => w.WritePromotion(promotion));
    }

    /// <summary><c>?name=&amp;max_results=&amp;page_token=</c>: the model's promotions, newest first.</summary>
    public static async Task<IResult> SearchPromotions(RequestArgs args, PromotionService promotions, CancellationToken ct)
    {
        var max = args.Int32("max_results") ?? DefaultPerPage;
        if (max is < 1 or > MaxPerPage)
            throw MlflowException.InvalidParameter($"max_results must be between 1 and {MaxPerPage}, got {max}.");
        var page = await promotions.SearchAsync(args.RequiredString("name"), max, args.String("page_token"), ct);
        return MlflowJson.Page("promotions", page, (w, p) =>
        {
            w.WriteStartObject();
            WriteFields(w, p);
            w.WriteEndObject();
        });
    }

    private static void WritePromotion(this Utf8JsonWriter w, Promotion p)
    {
        w.WriteStartObject("promotion");
        WriteFields(w, p);
        w.WriteEndObject();
    }

    private static void WriteFields(Utf8JsonWriter w, Promotion p) => PromotionWire.WriteFields(w, p);
}
