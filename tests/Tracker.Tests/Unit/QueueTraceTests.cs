using System.Diagnostics;
using Tracker.Core.Storage;

namespace Tracker.Tests.Unit;

/// <summary>The consumer span of a queue delivery continues the producer's trace when the message carries it.</summary>
public sealed class QueueTraceTests : IDisposable
{
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == QueueTrace.SourceName,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public QueueTraceTests() => ActivitySource.AddActivityListener(_listener);

    public void Dispose() => _listener.Dispose();

    [Fact]
    public void AMessageCarryingATraceparentContinuesThatTrace()
    {
        const string traceId = "0af7651916cd43dd8448eb211c80319c";
        var text = $$"""{"promotion":"p1","traceparent":"00-{{traceId}}-b7ad6b7169203331-01"}""";

        using var span = QueueTrace.StartProcessing(new QueueMessage("model-promotions", text, 2, "m1"), "PromoteModel");

        Assert.NotNull(span);
        Assert.Equal(traceId, span.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", span.ParentSpanId.ToHexString());
        Assert.Equal(ActivityKind.Consumer, span.Kind);
        Assert.Equal("model-promotions", span.GetTagItem("messaging.destination.name"));
    }

    [Theory]
    [InlineData("""{"promotion":"p1"}""")]
    [InlineData("""{"traceparent":"not a traceparent"}""")]
    [InlineData("""{"traceparent":""")]
    [InlineData("not json")]
    public void WithoutAUsableTraceparentTheSpanStartsItsOwnTrace(string text)
    {
        using var span = QueueTrace.StartProcessing(new QueueMessage("model-promotions", text, 1, null), "PromoteModel");
        Assert.NotNull(span);
        Assert.Equal(default, span.ParentSpanId);
    }

    [Fact]
    public void AProducerGetsTheCurrentSpansTraceparent()
    {
        using var source = new ActivitySource("QueueTraceTests.Producer");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var request = source.StartActivity("request");

        Assert.Equal(request!.Id, QueueTrace.CurrentTraceParent());
        Assert.StartsWith("00-" + request.TraceId.ToHexString(), QueueTrace.CurrentTraceParent());
    }
}
