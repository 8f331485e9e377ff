using System.Text.Json.Nodes;
using Tracker.Core.Auth;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Auth;

/// <summary>
/// Who may manage webhooks (issue 10 §2): admins, as in MLflow; and, for a webhook scoped to one registered model
/// (Tracker's <c>model_name</c>), the holders of MANAGE on that model. Nobody else: not EDIT on the model, not MANAGE on
/// another model, and no non-admin on an unscoped (registry-wide) webhook. A listing shows a non-admin only the
/// webhooks they manage.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WebhookPermissionTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Model = "hooked-model";
    private const string Other = "other-model";
    private readonly AuthedApp _app = new(azurite);
    private string _admin = "", _manager = "", _editor = "";

    public async Task InitializeAsync()
    {
        _admin = await _app.UserAsync("hook-admin", admin: true);
        _manager = await _app.UserAsync("hook-manager");
        _editor = await _app.UserAsync("hook-editor");
        await _app.PostAsync(_admin, "registered-models/create", new JsonObject { ["name"] = Model });
        await _app.PostAsync(_admin, "registered-models/create", new JsonObject { ["name"] = Other });
        await _app.Store.CreateRegisteredModelPermissionAsync(Model, "hook-manager", Permission.Manage);
        await _app.Store.CreateRegisteredModelPermissionAsync(Model, "hook-editor", Permission.Edit);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static JsonObject Webhook(string? model) => new()
    {
        ["name"] = "h",
        ["url"] = "https://192.0.2.10/hook", // refused at connect time: test never leaves the machine
        ["model_name"] = model,
        ["events"] = new JsonArray(new JsonObject { ["entity"] = "MODEL_VERSION", ["action"] = "CREATED" }),
    };

    private async Task<int> StatusAsync(string? who, HttpMethod method, string route, JsonObject? body = null) =>
        (await _app.StatusAsync(method, AuthedApp.Api + route, who, body)).Status;

    [Fact]
    public async Task ManageOnTheModelManagesItsWebhooksAndNothingElse()
    {
        var own = (string)(await _app.PostAsync(_manager, "webhooks", Webhook(Model)))["webhook"]!["webhook_id"]!;
        Assert.Equal(200, await StatusAsync(_manager, HttpMethod.Get, $"webhooks/{own}"));
        Assert.Equal(200, await StatusAsync(_manager, HttpMethod.Patch, $"webhooks/{own}", new JsonObject { ["description"] = "mine" }));
        Assert.Equal(200, await StatusAsync(_manager, HttpMethod.Post, $"webhooks/{own}/test", new JsonObject()));

        // Registry-wide, or another model's: admin only.
        Assert.Equal(403, await StatusAsync(_manager, HttpMethod.Post, "webhooks", Webhook(null)));
        Assert.Equal(403, await StatusAsync(_manager, HttpMethod.Post, "webhooks", Webhook(Other)));
        Assert.Equal(403, await StatusAsync(_manager, HttpMethod.Patch, $"webhooks/{own}", new JsonObject { ["model_name"] = Other }));
        Assert.Equal(403, await StatusAsync(_manager, HttpMethod.Patch, $"webhooks/{own}", new JsonObject { ["model_name"] = "" }));
        // EDIT is not enough, and nothing without a credential.
        Assert.Equal(403, await StatusAsync(_editor, HttpMethod.Post, "webhooks", Webhook(Model)));
        Assert.Equal(403, await StatusAsync(_editor, HttpMethod.Get, $"webhooks/{own}"));
        Assert.Equal(403, await StatusAsync(_editor, HttpMethod.Delete, $"webhooks/{own}"));
        Assert.Equal(401, await StatusAsync(null, HttpMethod.Get, "webhooks"));

        var wide = (string)(await _app.PostAsync(_admin, "webhooks", Webhook(null)))["webhook"]!["webhook_id"]!;
        foreach (var (method, route) in new[] { (HttpMethod.Get, $"webhooks/{wide}"), (HttpMethod.Patch, $"webhooks/{wide}"), (HttpMethod.Post, $"webhooks/{wide}/test"), (HttpMethod.Delete, $"webhooks/{wide}") })
            Assert.Equal(403, await StatusAsync(_manager, method, route, method == HttpMethod.Get || method == HttpMethod.Delete ? null : new JsonObject()));

        // Listings: the manager sees their model's webhook only, the editor none, the admin both.
        static IEnumerable<string> Ids(JsonNode listing) => listing["webhooks"]?.AsArray().Select(w => (string)w!["webhook_id"]!) ?? [];
        Assert.Equal([own], Ids(await _app.GetAsync(_manager, "webhooks")));
        Assert.Empty(Ids(await _app.GetAsync(_editor, "webhooks")));
        Assert.Equal(new[] { own, wide }.Order(), Ids(await _app.GetAsync(_admin, "webhooks")).Order());

        Assert.Equal(200, await StatusAsync(_manager, HttpMethod.Delete, $"webhooks/{own}"));
        Assert.Equal(200, await StatusAsync(_admin, HttpMethod.Delete, $"webhooks/{wide}"));
    }
}
