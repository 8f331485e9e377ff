using System.Globalization;
using System.Text;
using System.Text.Json;
using Tracker.Core.Promotions;
using Tracker.Core.Registry;
using Tracker.Core.Tracking;

namespace Tracker.Core.Webhooks;

/// <summary>
/// What a delivery POSTs: MLflow 3's envelope <c>{"entity", "action", "timestamp", "data"}</c> (delivery.py; timestamp
/// in Python's <c>isoformat()</c> of UTC) around the event's payload, whose fields are MLflow's payload types
/// (mlflow/webhooks/types.py). Tracker's promotion events carry the promotion as the promotion API writes it. The body
/// is built once, when the event happens, so every retry sends (and signs) the same bytes.
/// </summary>
public static class WebhookPayloads
{
    public static string Envelope(WebhookEvent e, DateTimeOffset at, Action<Utf8JsonWriter> writeData)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("entity", e.Entity);
            w.WriteString("action", e.Action);
            w.WriteString("timestamp", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture));
            w.WriteStartObject("data");
            writeData(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary><c>RegisteredModelCreatedPayload</c>: name, tags (an object), description.</summary>
    public static Action<Utf8JsonWriter> RegisteredModelCreated(string name, IReadOnlyList<KeyValue> tags, string? description) => w =>
    {
        w.WriteString("name", name);
        WriteTags(w, tags);
        WriteOptional(w, "description", description);
    };

    /// <summary><c>ModelVersionCreatedPayload</c>: name, version (a string), source, run_id, tags, description.</summary>
    public static Action<Utf8JsonWriter> ModelVersionCreated(ModelVersion v) => w =>
    {
        w.WriteString("name", v.Name);
        w.WriteString("version", Version(v.Version));
        w.WriteString("source", v.Source);
        WriteOptional(w, "run_id", v.RunId);
        WriteTags(w, v.Tags);
        WriteOptional(w, "description", v.Description);
    };

    public static Action<Utf8JsonWriter> ModelVersionTagSet(string name, long version, string key, string value) => w =>
    {
        w.WriteString("name", name);
        w.WriteString("version", Version(version));
        w.WriteString("key", key);
        w.WriteString("value", value);
    };

    public static Action<Utf8JsonWriter> ModelVersionTagDeleted(string name, long version, string key) => w =>
    {
        w.WriteString("name", name);
        w.WriteString("version", Version(version));
        w.WriteString("key", key);
    };

    public static Action<Utf8JsonWriter> ModelVersionAliasCreated(string name, string alias, long version) => w =>
    {
        w.WriteString("name", name);
        w.WriteString("alias", alias);
        w.WriteString("version", Version(version));
    };

    public static Action<Utf8JsonWriter> ModelVersionAliasDeleted(string name, string alias) => w =>
    {
        w.WriteString("name", name);
        w.WriteString("alias", alias);
    };

    /// <summary>Tracker's promotion events: the promotion's fields exactly as <c>promotions/get</c> answers them.</summary>
    public static Action<Utf8JsonWriter> Promotion(Promotion p) => w => PromotionWire.WriteFields(w, p);

    /// <summary>What <c>test</c> sends: MLflow's example payload of the event (types.py <c>example()</c>).</summary>
    public static Action<Utf8JsonWriter> Example(WebhookEvent e) => e.Entity switch
    {
        "registered_model" => RegisteredModelCreated("example_model", [new KeyValue("example_key", "example_value")], "An example registered model"),
        "model_version" => w =>
        {
            w.WriteString("name", "example_model");
            w.WriteString("version", "1");
            w.WriteString("source", "runs:/abcd1234abcd5678/model");
            w.WriteString("run_id", "abcd1234abcd5678");
            WriteTags(w, [new KeyValue("example_key", "example_value")]);
            w.WriteString("description", "An example model version");
        },
        "model_version_tag" when e.Action == "set" => ModelVersionTagSet("example_model", 1, "example_key", "example_value"),
        "model_version_tag" => ModelVersionTagDeleted("example_model", 1, "example_key"),
        "model_version_alias" when e.Action == "created" => ModelVersionAliasCreated("example_model", "example_alias", 1),
        "model_version_alias" => ModelVersionAliasDeleted("example_model", "example_alias"),
        _ => Promotion(new Promotion("0000000000000" + "0123456789abcdef", "example_model", 1, new PromotionTarget("Production", null), true,
            new PromotionGate("val_loss", GateDirection.LowerIsBetter, 0.05, null, null), e.Action, "example_user", 0, 0,
            new GateFigures(0.3, 0.31, 2, 0.3255), e.Action == PromotionStatus.Succeeded ? null : "An example reason")),
    };

    private static string Version(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static void WriteTags(Utf8JsonWriter w, IReadOnlyList<KeyValue> tags)
    {
        w.WriteStartObject("tags");
        foreach (var tag in tags) w.WriteString(tag.Key, tag.Value);
        w.WriteEndObject();
    }

    /// <summary>MLflow's payloads carry None (JSON null) where a field is not set.</summary>
    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) w.WriteNull(name);
        else w.WriteString(name, value);
    }
}
