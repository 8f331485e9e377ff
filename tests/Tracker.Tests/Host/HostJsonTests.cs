using Tracker.Tests.Infrastructure;
using System.Text.Json.Nodes;

namespace Tracker.Tests.Host;

/// <summary>The repo-root host.json that makes the Functions host run Tracker as a custom handler (reference §2).</summary>
public class HostJsonTests
{
    private static readonly JsonObject HostJson = JsonNode.Parse(File.ReadAllText(RepoPaths.HostJson))!.AsObject();

    [Fact]
    public void IsAVersion2HostFile() => Assert.Equal("2.0", Text("version"));

    [Fact]
    public void StartsTheTrackerExecutable()
    {
        Assert.Equal("Tracker.Functions", Text("customHandler", "description", "defaultExecutablePath"));
        // The apphost is named after the assembly; renaming one without the other leaves the host nothing to start.
        Assert.Equal(typeof(Program).Assembly.GetName().Name, Text("customHandler", "description", "defaultExecutablePath"));
    }

    [Fact]
    public void PassesHttpRequestsThroughInBothModes()
    {
        Assert.True(Flag("customHandler", "enableProxyingHttpRequest"));
        Assert.True(Flag("customHandler", "enableForwardingHttpRequest"));
    }

    [Fact]
    public void HasNoRoutePrefix() => Assert.Equal("", Text("extensions", "http", "routePrefix"));

    [Fact]
    public void UsesTheVersion4ExtensionBundle()
    {
        Assert.Equal("Microsoft.Azure.Functions.ExtensionBundle", Text("extensionBundle", "id"));
        Assert.Equal("[4.*, 5.0.0)", Text("extensionBundle", "version"));
    }

    [Fact]
    public void ReadsQueueMessagesAsBase64() => Assert.Equal("base64", Text("extensions", "queues", "messageEncoding"));

    /// <summary>The local poller copies the host's queue semantics; its defaults are host.json's values.</summary>
    [Fact]
    public void TheLocalPollerDefaultsAreTheHostsQueueSettings()
    {
        var defaults = new Tracker.Functions.Triggers.TriggerOptions();
        Assert.Equal((int?)Node("extensions", "queues", "maxDequeueCount"), defaults.MaxDequeueCount);
        Assert.Equal(TimeSpan.Parse(Text("extensions", "queues", "visibilityTimeout")!, System.Globalization.CultureInfo.InvariantCulture), defaults.VisibilityTimeout);
        Assert.Equal(TimeSpan.Parse(Text("functionTimeout")!, System.Globalization.CultureInfo.InvariantCulture), defaults.Lease);
    }

    private static JsonNode? Node(params string[] path)
    {
        JsonNode? node = HostJson;
        foreach (var property in path)
        {
            node = node is JsonObject obj && obj.TryGetPropertyValue(property, out var child) ? child : null;
            Assert.True(node is not null, $"host.json has no {string.Join('.', path)}.");
        }
        return node;
    }

    private static string? Text(params string[] path) =>
        Node(path) is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static bool? Flag(params string[] path) =>
        Node(path) is JsonValue value && value.TryGetValue<bool>(out var flag) ? flag : null;
}
