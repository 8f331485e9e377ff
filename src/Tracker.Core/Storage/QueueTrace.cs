using System.Diagnostics;
using System.Text.Json;

namespace Tracker.Core.Storage;

/// <summary>
/// Carries the trace context inside a queue message, so work requested over HTTP and done by a queue function is one
/// trace (issue 10 §5). A producer writes <see cref="Property"/> (W3C traceparent of the current span) into its JSON
/// message; the trigger machinery starts the consumer span with it as parent, whether the host or the local poller
/// delivered the message.
/// </summary>
public static class QueueTrace
{
    public const string SourceName = "Tracker.Queues";
    /// <summary>The message's top-level JSON property holding the producer's W3C traceparent.</summary>
    public const string Property = "traceparent";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>What a producer puts in <see cref="Property"/>: the current span's traceparent, or null outside any span.</summary>
    public static string? CurrentTraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>The consumer span for one delivery; null when nobody listens. Its parent is the producer's context when
    /// the message carries a valid one (a forged value only mislabels a trace), otherwise the current span.</summary>
    public static Activity? StartProcessing(QueueMessage message, string function)
    {
        var parent = ParentOf(message.Text);
        var activity = parent is { } context
            ? Source.StartActivity($"{function} process", ActivityKind.Consumer, context)
            : Source.StartActivity($"{function} process", ActivityKind.Consumer);
        activity?.SetTag("messaging.system", "azure_queues");
        activity?.SetTag("messaging.destination.name", message.Queue);
        activity?.SetTag("messaging.message.id", message.Id);
        activity?.SetTag("messaging.delivery_count", message.DequeueCount);
        return activity;
    }

    private static ActivityContext? ParentOf(string text)
    {
        if (!text.StartsWith('{')) return null;
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.TryGetProperty(Property, out var value) && value.ValueKind == JsonValueKind.String &&
                   ActivityContext.TryParse(value.GetString(), null, isRemote: true, out var context)
                ? context
                : null;
        }
        catch (JsonException)
        {
            return null; // the handler refuses a malformed message; tracing does not
        }
    }
}
