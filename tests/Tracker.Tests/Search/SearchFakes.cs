using Tracker.Core;
using Tracker.Core.Search;

namespace Tracker.Tests.Search;

/// <summary>An in-memory run for filter and ordering tests.</summary>
internal sealed record FakeRun(string RunId, long StartTime) : ISearchableRun
{
    public string RunName { get; init; } = "";
    public string Status { get; init; } = "FINISHED";
    public string UserId { get; init; } = "alice";
    public string ArtifactUri => $"mlflow-artifacts:/5/{RunId}/artifacts";
    public long? EndTime { get; init; }
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, double> LatestMetrics { get; init; } = new Dictionary<string, double>();
    public IReadOnlyList<SearchableDataset> Datasets { get; init; } = [];
    public string? Param(string key) => Params.GetValueOrDefault(key);
    public string? Tag(string key) => Tags.GetValueOrDefault(key);
    public double? LatestMetric(string key) => LatestMetrics.TryGetValue(key, out var v) ? v : null;
}

internal sealed record FakeExperiment(string ExperimentId, string Name, long CreationTime, long LastUpdateTime) : ISearchableExperiment
{
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
}

internal static class SearchAssert
{
    /// <summary>Asserts a 400 INVALID_PARAMETER_VALUE with exactly this message.</summary>
    public static void Rejects(Action parse, string expectedMessage)
    {
        var error = Assert.Throws<MlflowException>(parse);
        Assert.Equal(ErrorCode.InvalidParameterValue, error.Code);
        Assert.Equal(400, error.Code.HttpStatus);
        Assert.Equal(expectedMessage, error.Message);
    }

    /// <summary>Describes a value compactly for table-driven expectations: s:text, n:number, l:a|b.</summary>
    public static string Describe(SearchValue value) => value.Kind switch
    {
        SearchValueKind.String => "s:" + value.Text,
        SearchValueKind.Number => "n:" + value.Number.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => "l:" + string.Join('|', value.Items),
    };
}
