using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tracker.Core.Storage;

namespace Tracker.Functions.Triggers;

/// <summary>
/// The Functions host's invocation contract for queue and timer triggers (custom-handler reference §4):
/// <c>{Data, Metadata}</c> in, <c>{Outputs, Logs, ReturnValue}</c> out. The host serializes each string value as a JSON
/// string literal before serializing the body, so the message text and string metadata arrive quoted twice;
/// <c>DequeueCount</c> is a string; a timer's <c>ScheduleStatus</c> is null where the host keeps no schedule status.
/// </summary>
public static class HostInvocation
{
    /// <summary>The delivery a host payload describes. Throws <see cref="FormatException"/> for a payload that is not one.</summary>
    public static QueueMessage ParseQueueMessage(JsonNode? body, QueueTrigger trigger)
    {
        if (body is not JsonObject root || root["Data"] is not JsonObject data)
            throw new FormatException("The invocation has no Data object.");
        var text = data[trigger.Binding] switch
        {
            JsonValue value when value.TryGetValue<string>(out var s) => MessageText(Unquote(s)),
            // The host hands over a message it could parse as JSON as the object itself in some versions.
            JsonObject node => node.ToJsonString(),
            JsonArray node => node.ToJsonString(),
            _ => throw new FormatException($"The invocation has no Data.{trigger.Binding} message."),
        };
        if (root["Metadata"] is not JsonObject metadata)
            throw new FormatException("The invocation has no Metadata object.");
        var dequeueCount = metadata["DequeueCount"] switch
        {
            JsonValue value when value.TryGetValue<long>(out var n) => n,
            JsonValue value when value.TryGetValue<string>(out var s) &&
                                 long.TryParse(Unquote(s), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
            _ => throw new FormatException("The invocation has no numeric Metadata.DequeueCount."),
        };
        if (dequeueCount < 1) throw new FormatException("Metadata.DequeueCount must be at least 1.");
        var id = metadata["Id"] is JsonValue idValue && idValue.TryGetValue<string>(out var rawId) ? Unquote(rawId) : null;
        return new QueueMessage(trigger.Queue, text, dequeueCount, id);
    }

    /// <summary>
    /// The firing a timer invocation describes. <c>Data.&lt;binding&gt;</c> is the host's TimerInfo, as an object or as
    /// its JSON text quoted once or twice; <c>Metadata.sys.UtcNow</c> is when it fired (<paramref name="clock"/> stands in
    /// when a host leaves it out). Throws <see cref="FormatException"/> for a payload that is not a timer invocation.
    /// </summary>
    public static TimerTick ParseTimerTick(JsonNode? body, TimerTrigger trigger, TimeProvider clock)
    {
        if (body is not JsonObject root || root["Data"] is not JsonObject data)
            throw new FormatException("The invocation has no Data object.");
        var timer = data[trigger.Binding] switch
        {
            JsonObject node => node,
            JsonValue value when value.TryGetValue<string>(out var s) && Unquote(s) is var text && text.StartsWith('{') =>
                JsonNode.Parse(text) as JsonObject,
            _ => null,
        } ?? throw new FormatException($"The invocation has no Data.{trigger.Binding} timer object.");
        var isPastDue = timer["IsPastDue"] switch
        {
            null => false,
            JsonValue value when value.TryGetValue<bool>(out var b) => b,
            JsonValue value when value.TryGetValue<string>(out var s) && bool.TryParse(Unquote(s), out var b) => b,
            _ => throw new FormatException("Data.timer.IsPastDue is not a boolean."),
        };
        var status = timer["ScheduleStatus"] as JsonObject; // null: no schedule monitor (reference §4)
        var utcNow = root["Metadata"] is JsonObject metadata && metadata["sys"] is JsonObject sys ? Date(sys["UtcNow"], "Metadata.sys.UtcNow") : null;
        return new TimerTick(utcNow ?? clock.GetUtcNow(), isPastDue, Date(status?["Last"], "ScheduleStatus.Last"), Date(status?["Next"], "ScheduleStatus.Next"));
    }

    private static DateTimeOffset? Date(JsonNode? node, string what) => node switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var s) &&
                             DateTimeOffset.TryParse(Unquote(s), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d) => d,
        _ => throw new FormatException($"{what} is not a date."),
    };

    /// <summary>The reply the host expects: never empty (an empty 2xx leaves the invocation hanging until functionTimeout).</summary>
    public static JsonObject Reply(params string[] logs) => new()
    {
        ["Outputs"] = new JsonObject(),
        ["Logs"] = new JsonArray(logs.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
        ["ReturnValue"] = null,
    };

    /// <summary>Removes the host's JSON string quoting, applied once per serialization (twice in practice; at most three times).</summary>
    public static string Unquote(string s)
    {
        for (var i = 0; i < 3 && s.Length >= 2 && s[0] == '"' && s[^1] == '"'; i++)
        {
            try
            {
                s = JsonNode.Parse(s)?.GetValue<string>() ?? "";
            }
            catch (JsonException)
            {
                break; // text that merely starts and ends with a quote
            }
        }
        return s;
    }

    /// <summary>
    /// Tracker's messages are JSON. With <c>messageEncoding: base64</c> the host decodes before invoking; a message
    /// enqueued as plain text by mistake would show up still in base64, so JSON is recovered from that too. Anything
    /// else is passed on unchanged: the handler validates every message (a forged one included) itself.
    /// </summary>
    private static string MessageText(string text)
    {
        if (text.StartsWith('{') || text.StartsWith('[')) return text;
        var bytes = new byte[text.Length];
        if (Convert.TryFromBase64String(text, bytes, out var length))
        {
            try
            {
                var decoded = new UTF8Encoding(false, true).GetString(bytes, 0, length);
                if (decoded.StartsWith('{') || decoded.StartsWith('[')) return decoded;
            }
            catch (DecoderFallbackException)
            {
                // not UTF-8 text: keep the original
            }
        }
        return text;
    }
}
