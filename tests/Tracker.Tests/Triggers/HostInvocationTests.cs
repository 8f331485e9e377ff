using System.Text.Json.Nodes;
using Tracker.Functions.Triggers;

namespace Tracker.Tests.Triggers;

/// <summary>
/// Parsing the host's queue-trigger invocation (custom-handler reference §4): strings JSON-encoded twice, DequeueCount
/// as a string, base64 recovered, and payloads that are not an invocation refused.
/// </summary>
public class HostInvocationTests
{
    private static readonly QueueTrigger Trigger = PromoteModelTrigger.Definition;

    /// <summary>The reference's example body, byte for byte.</summary>
    public const string HostPayload = """
        { "Data": { "msg": "\"{\\\"name\\\":\\\"churn\\\",\\\"version\\\":\\\"3\\\",\\\"stage\\\":\\\"Production\\\"}\"" },
          "Metadata": { "DequeueCount": "1", "Id": "\"5f3c2a9e-7d1b-4c2e-9a51-0b6f1e2d3c4a\"",
            "PopReceipt": "\"AgAAAAMAAAAAAAAAAgtnj8x+1QE=\"", "InsertionTime": "2025-11-13T10:00:00+00:00",
            "ExpirationTime": "2025-11-20T10:00:00+00:00", "NextVisibleTime": "2025-11-13T10:00:31+00:00",
            "sys": { "MethodName": "PromoteModel", "UtcNow": "2025-11-13T10:00:01.2205399Z",
                     "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9" } } }
        """;

    [Fact]
    public void TheHostsDoublyEncodedPayloadYieldsTheMessageAsEnqueued()
    {
        var message = HostInvocation.ParseQueueMessage(JsonNode.Parse(HostPayload), Trigger);

        Assert.Equal("""{"name":"churn","version":"3","stage":"Production"}""", message.Text);
        Assert.Equal(1, message.DequeueCount);
        Assert.Equal("5f3c2a9e-7d1b-4c2e-9a51-0b6f1e2d3c4a", message.Id);
        Assert.Equal("model-promotions", message.Queue);
    }

    [Fact]
    public void ADequeueCountAsANumberOrQuotedTwiceIsReadToo()
    {
        Assert.Equal(4, Parse(""" "DequeueCount": 4 """).DequeueCount);
        Assert.Equal(5, Parse(""" "DequeueCount": "\"5\"" """).DequeueCount);
    }

    [Theory]
    [InlineData(""" "Id": "x" """)]                   // no DequeueCount
    [InlineData(""" "DequeueCount": "one" """)]
    [InlineData(""" "DequeueCount": "-1" """)]
    [InlineData(""" "DequeueCount": "0" """)]
    public void AnInvocationWithoutAUsableDequeueCountIsRefused(string metadata) =>
        Assert.Throws<FormatException>(() => Parse(metadata));

    [Theory]
    [InlineData("""{ "Metadata": { "DequeueCount": "1" } }""")]
    [InlineData("""{ "Data": { "other": "\"x\"" }, "Metadata": { "DequeueCount": "1" } }""")]
    [InlineData("""{ "Data": { "msg": "\"{}\"" } }""")]
    [InlineData("""[1]""")]
    public void APayloadThatIsNotAQueueInvocationIsRefused(string body) =>
        Assert.Throws<FormatException>(() => HostInvocation.ParseQueueMessage(JsonNode.Parse(body), Trigger));

    [Fact]
    public void AMessageDataObjectIsTakenAsItsJson()
    {
        var body = """{ "Data": { "msg": { "id": "p1" } }, "Metadata": { "DequeueCount": "2" } }""";
        Assert.Equal("""{"id":"p1"}""", HostInvocation.ParseQueueMessage(JsonNode.Parse(body), Trigger).Text);
    }

    [Fact]
    public void AMessageStillInBase64IsDecodedToItsJson()
    {
        var base64 = Convert.ToBase64String("""{"id":"p1"}"""u8.ToArray());
        var body = new JsonObject
        {
            ["Data"] = new JsonObject { ["msg"] = $"\"{base64}\"" },
            ["Metadata"] = new JsonObject { ["DequeueCount"] = "1" },
        };
        Assert.Equal("""{"id":"p1"}""", HostInvocation.ParseQueueMessage(body, Trigger).Text);
    }

    [Fact]
    public void TextThatIsNeitherJsonNorBase64JsonIsHandedOnForTheHandlerToRefuse()
    {
        Assert.Equal("not json", Parse(""" "DequeueCount": "1" """, "\"\\\"not json\\\"\"").Text);
    }

    [Theory]
    [InlineData("\"\\\"a\\\"\"", "a")]
    [InlineData("\"a\"", "a")]
    [InlineData("a", "a")]
    [InlineData("\"a", "\"a")]
    [InlineData("\"broken\\\"", "\"broken\\\"")]
    public void UnquoteRemovesTheHostsQuoting(string value, string expected) =>
        Assert.Equal(expected, HostInvocation.Unquote(value));

    [Fact]
    public void TheReplyHasTheHostsShape()
    {
        var reply = HostInvocation.Reply("done");
        Assert.Equal("""{"Outputs":{},"Logs":["done"],"ReturnValue":null}""", reply.ToJsonString());
    }

    private static Core.Storage.QueueMessage Parse(string metadata, string msg = "\"\\\"{}\\\"\"") =>
        HostInvocation.ParseQueueMessage(JsonNode.Parse($$"""{ "Data": { "msg": {{msg}} }, "Metadata": { {{metadata}} } }"""), Trigger);
}
