using Azure.Core;
using Azure.Core.Pipeline;

namespace Tracker.Core.Storage;

/// <summary>
/// Queries that read keys only (the change feed's range reads) ask for JSON without OData metadata. The SDK always asks
/// for minimal metadata, which adds each row's ETag: for a row that is just its row key, that is half of its bytes and
/// of the parsing on both sides (a cold search right after a sweep reads a few thousand such rows). The table service
/// takes <c>$format</c> over <c>Accept</c> ("Payload format for Table service operations"); a row read this way has no
/// ETag and untyped properties, so only a query that needs neither may run in <see cref="Scope"/>.
/// </summary>
public sealed class KeysOnlyQueries : HttpPipelineSynchronousPolicy
{
    private const string Property = "Tracker.KeysOnly";
    private const string MinimalMetadata = "odata%3Dminimalmetadata";
    private const string NoMetadata = "odata%3Dnometadata";

    /// <summary>The table requests sent while this is undisposed (in this async flow) ask for no metadata.</summary>
    public static IDisposable Scope() => HttpPipeline.CreateHttpMessagePropertiesScope(new Dictionary<string, object?> { [Property] = true });

    public override void OnSendingRequest(HttpMessage message)
    {
        if (!message.TryGetProperty(Property, out var keysOnly) || keysOnly is not true) return;
        message.Request.Uri.Query = message.Request.Uri.Query.Replace(MinimalMetadata, NoMetadata, StringComparison.Ordinal);
        message.Request.Headers.SetValue(HttpHeader.Names.Accept, "application/json;odata=nometadata");
    }
}
