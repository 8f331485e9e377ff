using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Tracker.Tests.Infrastructure;
using Tracker.Tests.Integration;

namespace Tracker.Tests.Webhooks;

/// <summary>
/// MLflow 3's webhook routes over HTTP against Azurite: the CRUD shapes (field names of mlflow/protos/webhooks.proto,
/// events as proto enum names), validation with MLflow's messages, both API roots, and the secret: write-only, never
/// answered by any route, stored encrypted.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WebhookApiTests(AzuriteFixture azurite) : IDisposable
{
    private const string Api = "/api/2.0/mlflow/";
    private readonly TrackerApp _app = new(azurite);

    public void Dispose() => _app.Dispose();

    private async Task<(HttpStatusCode Status, JsonNode Body, string Text)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var client = _app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = ArtifactClient.Json(body);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text.Length == 0 ? "{}" : text)!, text);
    }

    private async Task<JsonNode> OkAsync(HttpMethod method, string path, object? body = null)
    {
        var (status, json, text) = await SendAsync(method, path, body);
        Assert.True(status == HttpStatusCode.OK, $"{method} {path}: {(int)status} {text}");
        return json;
    }

    private async Task AssertRefusedAsync(HttpMethod method, string path, object body, string errorCode, string message, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var (actual, json, text) = await SendAsync(method, path, body);
        Assert.True(actual == status, $"{(int)actual} {text}");
        Assert.Equal(errorCode, (string?)json["error_code"]);
        Assert.Equal(message, (string?)json["message"]);
    }

    private static object[] Events(params (string Entity, string Action)[] events) => events.Select(e => (object)new { entity = e.Entity, action = e.Action }).ToArray();

    [Fact]
    public async Task AWebhookIsCreatedReadListedUpdatedAndDeletedInMlflowsShape()
    {
        var created = (await OkAsync(HttpMethod.Post, Api + "webhooks", new
        {
            name = "ci-trigger",
            description = "kicks CI",
            url = "https://ci.example.com/hooks/mlflow",
            events = Events(("MODEL_VERSION", "CREATED"), ("MODEL_VERSION_ALIAS", "CREATED")),
        }))["webhook"]!;
        var id = (string)created["webhook_id"]!;
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal("ci-trigger", (string?)created["name"]);
        Assert.Equal("kicks CI", (string?)created["description"]);
        Assert.Equal("https://ci.example.com/hooks/mlflow", (string?)created["url"]);
        Assert.Equal("ACTIVE", (string?)created["status"]);
        Assert.Equal("""[{"entity":"MODEL_VERSION","action":"CREATED"},{"entity":"MODEL_VERSION_ALIAS","action":"CREATED"}]""", created["events"]!.ToJsonString());
        Assert.Equal((long)created["creation_timestamp"]!, (long)created["last_updated_timestamp"]!);

        // The same webhook under the UI's root, and in the listing.
        Assert.Equal(created.ToJsonString(), (await OkAsync(HttpMethod.Get, $"/ajax-api/2.0/mlflow/webhooks/{id}"))["webhook"]!.ToJsonString());
        var listed = (await OkAsync(HttpMethod.Get, Api + "webhooks"))["webhooks"]!.AsArray();
        Assert.Equal(created.ToJsonString(), Assert.Single(listed, w => (string?)w!["webhook_id"] == id)!.ToJsonString());

        await Task.Delay(5); // a later last_updated_timestamp
        var updated = (await OkAsync(HttpMethod.Patch, $"{Api}webhooks/{id}", new
        {
            status = "DISABLED",
            name = "ci-trigger-2",
            events = Events(("REGISTERED_MODEL", "CREATED")),
        }))["webhook"]!;
        Assert.Equal("DISABLED", (string?)updated["status"]);
        Assert.Equal("ci-trigger-2", (string?)updated["name"]);
        Assert.Equal("kicks CI", (string?)updated["description"]); // not given: unchanged
        Assert.Equal("https://ci.example.com/hooks/mlflow", (string?)updated["url"]);
        Assert.Equal("""[{"entity":"REGISTERED_MODEL","action":"CREATED"}]""", updated["events"]!.ToJsonString());
        Assert.Equal((long)created["creation_timestamp"]!, (long)updated["creation_timestamp"]!);
        Assert.True((long)updated["last_updated_timestamp"]! > (long)created["last_updated_timestamp"]!);
        Assert.Equal(updated.ToJsonString(), (await OkAsync(HttpMethod.Get, $"{Api}webhooks/{id}"))["webhook"]!.ToJsonString());

        Assert.Equal("{}", (await OkAsync(HttpMethod.Delete, $"{Api}webhooks/{id}")).ToJsonString());
        await AssertRefusedAsync(HttpMethod.Get, $"{Api}webhooks/{id}", new { }, "RESOURCE_DOES_NOT_EXIST", $"Webhook with ID {id} not found", HttpStatusCode.NotFound);
        await AssertRefusedAsync(HttpMethod.Delete, $"{Api}webhooks/{id}", new { }, "RESOURCE_DOES_NOT_EXIST", $"Webhook with ID {id} not found", HttpStatusCode.NotFound);
        await AssertRefusedAsync(HttpMethod.Patch, $"{Api}webhooks/{id}", new { name = "x" }, "RESOURCE_DOES_NOT_EXIST", $"Webhook with ID {id} not found", HttpStatusCode.NotFound);
        Assert.DoesNotContain((await OkAsync(HttpMethod.Get, Api + "webhooks"))["webhooks"]?.AsArray() ?? [], w => (string?)w!["webhook_id"] == id);
    }

    [Fact]
    public async Task ListingPagesWithASignedToken()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
            ids.Add((string)(await OkAsync(HttpMethod.Post, Api + "webhooks", new { name = $"page-{i}", url = "https://example.com/h", events = Events(("REGISTERED_MODEL", "CREATED")) }))["webhook"]!["webhook_id"]!);
        var first = await OkAsync(HttpMethod.Get, Api + "webhooks?max_results=2");
        var second = await OkAsync(HttpMethod.Get, $"{Api}webhooks?max_results=2&page_token={Uri.EscapeDataString((string)first["next_page_token"]!)}");
        Assert.Equal(ids, first["webhooks"]!.AsArray().Concat(second["webhooks"]!.AsArray()).Select(w => (string)w!["webhook_id"]!));
        Assert.Null(second["next_page_token"]);
        await AssertRefusedAsync(HttpMethod.Get, Api + "webhooks?max_results=0", new { }, "INVALID_PARAMETER_VALUE", "max_results must be between 1 and 1000, got 0.");
    }

    [Theory]
    [InlineData("""{"url": "https://example.com/h", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Missing value for required parameter 'name'. See the API docs for more information about request parameters.")]
    [InlineData("""{"name": "n", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Missing value for required parameter 'url'. See the API docs for more information about request parameters.")]
    [InlineData("""{"name": "n", "url": "https://example.com/h", "events": []}""", "Webhook events cannot be empty")]
    [InlineData("""{"name": "n", "url": "https://example.com/h"}""", "Webhook events cannot be empty")]
    [InlineData("""{"name": "n", "url": "https://example.com/h", "events": [{"entity": "REGISTERED_MODEL", "action": "DELETED"}]}""",
        "Invalid action 'deleted' for entity 'registered_model'. Valid actions are: ['created']")]
    [InlineData("""{"name": "n", "url": "https://example.com/h", "events": [{"entity": "MODEL_VERSION_TAG", "action": "CREATED"}]}""",
        "Invalid action 'created' for entity 'model_version_tag'. Valid actions are: ['deleted', 'set']")]
    [InlineData("""{"name": "n", "url": "https://example.com/h", "events": [{"entity": "EXPERIMENT", "action": "CREATED"}]}""",
        "Invalid enum value EXPERIMENT for enum type mlflow.WebhookEntity.")]
    [InlineData("""{"name": "n", "url": "ftp://example.com/h", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Invalid webhook URL scheme: 'ftp'. Only 'http' and 'https' are supported.")]
    [InlineData("""{"name": "n", "url": "file:///etc/passwd", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Invalid webhook URL: 'file:///etc/passwd'.")]
    [InlineData("""{"name": "n", "url": "not a url", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Invalid webhook URL: 'not a url'.")]
    [InlineData("""{"name": "n", "url": "https://user:pw@example.com/h", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Webhook URL must not contain credentials (user name or password).")]
    [InlineData("""{"name": "n", "url": "https://example.com/h", "status": "PAUSED", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}""",
        "Invalid enum value PAUSED for enum type mlflow.WebhookStatus.")]
    public async Task InvalidCreatesAreRefusedWithMlflowsMessages(string body, string message)
    {
        await AssertRefusedAsync(HttpMethod.Post, Api + "webhooks", JsonNode.Parse(body)!, "INVALID_PARAMETER_VALUE", message);
        Assert.Empty((await OkAsync(HttpMethod.Get, Api + "webhooks"))["webhooks"]?.AsArray().Where(w => (string?)w!["name"] == "n") ?? []);
    }

    [Fact]
    public async Task LongUrlsAndScopesToMissingModelsAreRefused()
    {
        var longUrl = "https://example.com/" + new string('a', 500);
        await AssertRefusedAsync(HttpMethod.Post, Api + "webhooks",
            new { name = "n", url = longUrl, events = Events(("REGISTERED_MODEL", "CREATED")) },
            "INVALID_PARAMETER_VALUE", $"Webhook URL had length {longUrl.Length}, which exceeded length limit of 500");
        await AssertRefusedAsync(HttpMethod.Post, Api + "webhooks",
            new { name = "n", url = "https://example.com/h", model_name = "no-such-model", events = Events(("REGISTERED_MODEL", "CREATED")) },
            "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=no-such-model not found", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AScopedWebhookFollowsItsModelThroughARename()
    {
        var model = "scoped-" + Guid.NewGuid().ToString("N");
        await OkAsync(HttpMethod.Post, Api + "registered-models/create", new { name = model });
        var id = (string)(await OkAsync(HttpMethod.Post, Api + "webhooks",
            new { name = "scoped", url = "https://example.com/h", model_name = model, events = Events(("MODEL_VERSION", "CREATED")) }))["webhook"]!["webhook_id"]!;
        var unrelated = (string)(await OkAsync(HttpMethod.Post, Api + "webhooks",
            new { name = "wide", url = "https://example.com/h", events = Events(("MODEL_VERSION", "CREATED")) }))["webhook"]!["webhook_id"]!;

        await OkAsync(HttpMethod.Post, Api + "registered-models/rename", new { name = model, new_name = model + "-renamed" });

        Assert.Equal(model + "-renamed", (string?)(await OkAsync(HttpMethod.Get, $"{Api}webhooks/{id}"))["webhook"]!["model_name"]);
        Assert.Null((await OkAsync(HttpMethod.Get, $"{Api}webhooks/{unrelated}"))["webhook"]!["model_name"]);
    }

    [Fact]
    public async Task TheSecretIsNeverAnsweredAndIsStoredEncrypted()
    {
        const string secret = "very-secret-signing-key-0123456789";
        var (_, created, createdText) = await SendAsync(HttpMethod.Post, Api + "webhooks",
            new { name = "signed", url = "https://example.com/h", secret, events = Events(("REGISTERED_MODEL", "CREATED")) });
        var id = (string)created["webhook"]!["webhook_id"]!;
        var answers = new List<string> { createdText };
        answers.Add((await SendAsync(HttpMethod.Get, $"{Api}webhooks/{id}")).Text);
        answers.Add((await SendAsync(HttpMethod.Get, Api + "webhooks")).Text);
        answers.Add((await SendAsync(HttpMethod.Patch, $"{Api}webhooks/{id}", new { secret = secret + "-rotated", description = "rotated" })).Text);
        answers.Add((await SendAsync(HttpMethod.Get, $"/ajax-api/2.0/mlflow/webhooks/{id}")).Text);
        foreach (var answer in answers)
        {
            Assert.DoesNotContain("very-secret", answer, StringComparison.Ordinal);
            Assert.DoesNotContain("\"secret\"", answer, StringComparison.Ordinal);
        }

        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(_app.TablePrefix + "webhooks");
        var row = (await table.GetEntityAsync<TableEntity>("w", id)).Value;
        var stored = row.GetString("Secret");
        Assert.False(string.IsNullOrEmpty(stored));
        Assert.DoesNotContain("very-secret", string.Join("|", row.Select(kv => kv.Value?.ToString())), StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(stored!)), StringComparison.Ordinal);
    }
}
