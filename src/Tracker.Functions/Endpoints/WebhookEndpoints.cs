using System.Text.Json;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Registry;
using Tracker.Core.Webhooks;
using Tracker.Functions.Auth;
using Tracker.Functions.Http;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// MLflow 3's webhook RPCs (mlflow/protos/webhooks.proto): <c>POST /webhooks</c>, <c>GET /webhooks</c>,
/// <c>GET|PATCH|DELETE /webhooks/{webhook_id}</c>, <c>POST /webhooks/{webhook_id}/test</c>, with MLflow's field names;
/// events travel as <c>{"entity": "MODEL_VERSION", "action": "CREATED"}</c> (the proto enum names). The secret is
/// write-only: no route answers it.
/// <para>
/// Permissions: MLflow's webhooks are registry-wide and admin-only. Tracker adds an optional <c>model_name</c> scope
/// (a scoped webhook is sent only that model's events); MANAGE on that model lets a non-admin create, read, change,
/// test and delete the webhook. An unscoped webhook stays admin-only, and a listing shows a non-admin only the
/// webhooks of models they manage. With auth off (local mode) everyone may, as with the rest of the API.
/// </para>
/// </summary>
public static class WebhookEndpoints
{
    /// <summary>The model a new webhook is scoped to (<c>model_name</c>); none: only an admin may create it.</summary>
    public static readonly Resource NewWebhookModel = new("new webhook's registered model", async context =>
    {
        var args = await RequestArgs.ForRequestAsync(context);
        return WebhookValidation.ModelName(args.String("model_name")) is { } model
            ? [new Target(TargetKind.RegisteredModel, model)]
            : throw AuthMiddleware.Denied();
    });

    /// <summary>
    /// The model the webhook in the route is scoped to, and for an update the model it is being scoped to as well; an
    /// unscoped webhook (or an update removing the scope) is admin-only. An id nobody issued resolves to nothing to
    /// check and the handler answers its 404 (ids are unguessable, so that tells nothing).
    /// </summary>
    public static readonly Resource WebhookModel = new("webhook's registered model", async context =>
    {
        var id = context.Request.RouteValues["webhook_id"] as string;
        var store = context.RequestServices.GetRequiredService<WebhookStore>();
        if (await store.GetAsync(id, context.RequestAborted) is not { } webhook) return [];
        var model = webhook.ModelName ?? throw AuthMiddleware.Denied();
        List<Target> targets = [new(TargetKind.RegisteredModel, model)];
        if (HttpMethods.IsPatch(context.Request.Method) && (await RequestArgs.ForRequestAsync(context)).String("model_name") is { } next)
            targets.Add(new Target(TargetKind.RegisteredModel, WebhookValidation.ModelName(next) ?? throw AuthMiddleware.Denied()));
        return targets;
    });

    public static RouteGroupBuilder MapWebhookEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/webhooks", CreateWebhook).Requires(Permission.Manage, NewWebhookModel);
        api.MapGet("/webhooks", ListWebhooks).RequiresSignIn();
        api.MapGet("/webhooks/{webhook_id}", GetWebhook).Requires(Permission.Manage, WebhookModel);
        api.MapPatch("/webhooks/{webhook_id}", UpdateWebhook).Requires(Permission.Manage, WebhookModel);
        api.MapDelete("/webhooks/{webhook_id}", DeleteWebhook).Requires(Permission.Manage, WebhookModel);
        api.MapPost("/webhooks/{webhook_id}/test", TestWebhook).Requires(Permission.Manage, WebhookModel);
        return api;
    }

    public static async Task<IResult> CreateWebhook(RequestArgs args, WebhookService webhooks, CancellationToken ct)
    {
        var request = new NewWebhook(
            args.RequiredString("name"), args.String("description"), args.RequiredString("url"), Events(args),
            args.String("secret"), args.String("status"), args.String("model_name"));
        return WebhookResult(await webhooks.CreateAsync(request, ct));
    }

    /// <summary>Only the webhooks of models the caller manages, unless an admin; filtered before paging.</summary>
    public static async Task<IResult> ListWebhooks(RequestArgs args, Caller caller, PermissionLookup permissions, WebhookService webhooks, CancellationToken ct)
    {
        Func<Webhook, ValueTask<bool>>? visible = caller.IsAdmin ? null : async w =>
            w.ModelName is { } model && await permissions.ForRegisteredModelAsync(caller.UserName, model, ct) >= Permission.Manage;
        var page = await webhooks.ListAsync(args.Int32("max_results"), args.String("page_token"), visible, ct);
        return MlflowJson.Page("webhooks", page, (w, webhook) =>
        {
            w.WriteStartObject();
            w.WriteWebhook(webhook);
            w.WriteEndObject();
        });
    }

    public static async Task<IResult> GetWebhook(string webhook_id, WebhookService webhooks, CancellationToken ct) =>
        WebhookResult(await webhooks.GetAsync(webhook_id, ct));

    public static async Task<IResult> UpdateWebhook(string webhook_id, RequestArgs args, WebhookService webhooks, CancellationToken ct)
    {
        var update = new WebhookUpdate(
            args.String("name"), args.String("description"), args.String("url"), args.Has("events") ? Events(args) : null,
            args.String("secret"), args.String("status"), args.String("model_name"));
        return WebhookResult(await webhooks.UpdateAsync(webhook_id, update, ct));
    }

    public static async Task<IResult> DeleteWebhook(string webhook_id, WebhookService webhooks, CancellationToken ct)
    {
        await webhooks.DeleteAsync(webhook_id, ct);
        return MlflowJson.Empty();
    }

    /// <summary><c>{"event"?: {entity, action}}</c> → <c>{"result": {success, response_status?, response_body?, error_message?}}</c>.</summary>
    public static async Task<IResult> TestWebhook(string webhook_id, RequestArgs args, WebhookService webhooks, CancellationToken ct)
    {
        var e = args.Object("event") is { } given ? WebhookValidation.Event(given.String("entity"), given.String("action")) : null;
        var result = await webhooks.TestAsync(webhook_id, e, ct);
        return MlflowJson.Object(w =>
        {
            w.WriteStartObject("result");
            w.WriteBoolean("success", result.Success);
            if (result.ResponseStatus is { } status) w.WriteNumber("response_status", status);
            if (result.ResponseBody is { } body) w.WriteString("response_body", body);
            if (result.ErrorMessage is { } error) w.WriteString("error_message", error);
            w.WriteEndObject();
        });
    }

    private static IReadOnlyList<WebhookEvent> Events(RequestArgs args) =>
        args.Objects("events").Select(e => WebhookValidation.Event(e.String("entity"), e.String("action"))).ToList();

    private static IResult WebhookResult(Webhook webhook) => MlflowJson.Object(w =>
    {
        w.WriteStartObject("webhook");
        w.WriteWebhook(webhook);
        w.WriteEndObject();
    });

    /// <summary>MLflow's <c>Webhook</c> message; never the secret. <c>model_name</c> is Tracker's, present only when set.</summary>
    private static void WriteWebhook(this Utf8JsonWriter w, Webhook webhook)
    {
        w.WriteString("webhook_id", webhook.WebhookId);
        w.WriteString("name", webhook.Name);
        if (!string.IsNullOrEmpty(webhook.Description)) w.WriteString("description", webhook.Description);
        w.WriteString("url", webhook.Url);
        w.WriteStartArray("events");
        foreach (var e in webhook.Events)
        {
            w.WriteStartObject();
            w.WriteString("entity", e.Entity.ToUpperInvariant());
            w.WriteString("action", e.Action.ToUpperInvariant());
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("status", webhook.Status);
        w.WriteNumber("creation_timestamp", webhook.CreationTimestamp);
        w.WriteNumber("last_updated_timestamp", webhook.LastUpdatedTimestamp);
        if (webhook.ModelName is not null) w.WriteString("model_name", webhook.ModelName);
    }
}
