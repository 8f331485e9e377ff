using System.Text.Json;
using Tracker.Core.Search;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Xunit.Abstractions;

namespace Tracker.Tests.Unit;

/// <summary>The search cache's compact runs: same answers as the documents they come from, a snapshot format that
/// round-trips and refuses what it does not know, and their memory per run measured.</summary>
public sealed class CompactRunTests(ITestOutputHelper output)
{
    private static RunDocument Document(int i, bool extras = false) => new()
    {
        RunId = i.ToString("x32"),
        ExperimentId = "7",
        RunName = $"run-{i}",
        UserId = "alice",
        Status = i % 2 == 0 ? "FINISHED" : "RUNNING",
        StartTime = 1_700_000_000_000 + i,
        EndTime = i % 2 == 0 ? 1_700_000_100_000 + i : null,
        Lifecycle = i % 5 == 0 ? LifecycleStage.Deleted : LifecycleStage.Active,
        DeletedTime = i % 5 == 0 ? 1_700_000_200_000 : null,
        Params = [.. Enumerable.Range(0, 5).Select(p => new KeyValue($"param_{p}", $"{(i + p) % 7 * 0.001}"))],
        Tags = [new(MlflowTags.RunName, $"run-{i}"), new("team", "vision"), new("seed", i.ToString())],
        Metrics = [.. Enumerable.Range(0, 5).Select(m => new MetricState { Key = $"metric_{m}", Value = m == 4 && i == 3 ? double.NaN : i * 0.5 + m, Timestamp = 1000 + i, Step = m })],
        Inputs = extras ? [new DatasetInput([new(MlflowTags.DatasetContext, "train")], new Dataset("mnist", "abc123", "local", "{}", null, null))] : [],
        ModelInputs = extras ? ["m-1"] : [],
        ModelOutputs = extras ? [new ModelOutput("m-2", 3)] : [],
    };

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static string Wire(Run run) => JsonSerializer.Serialize(run, Json);

    /// <summary>The run as a search returns it: model inputs left out, as in MLflow's search_runs.</summary>
    private static Run SearchedRun(RunDocument doc) => doc.ToRun() with { ModelInputs = [] };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnswersAsTheDocumentDoes(bool extras)
    {
        var doc = Document(3, extras);
        var run = CompactRun.From(doc, new StringPool());

        Assert.Equal(Wire(SearchedRun(doc)), Wire(run.ToRun()));
        ISearchableRun b = run;
        foreach (var key in new[] { "param_0", "param_4", "missing" }) Assert.Equal(doc.Params.LastOrDefault(p => p.Key == key)?.Value, b.Param(key));
        foreach (var key in new[] { "team", MlflowTags.RunName, "missing" }) Assert.Equal(doc.Tags.LastOrDefault(t => t.Key == key)?.Value, b.Tag(key));
        foreach (var key in new[] { "metric_0", "metric_4", "missing" }) Assert.Equal(doc.FindMetric(key)?.Value, b.LatestMetric(key));
        Assert.Equal(doc.Inputs.Select(i => new SearchableDataset(i.Dataset.Name, i.Dataset.Digest,
            i.Tags.FirstOrDefault(t => t.Key == MlflowTags.DatasetContext)?.Value)), b.Datasets);
        Assert.Equal((doc.RunId, doc.RunName, doc.Status, doc.UserId, doc.ArtifactUri, doc.StartTime, doc.EndTime), (b.RunId, b.RunName, b.Status, b.UserId, b.ArtifactUri, b.StartTime, b.EndTime));
    }

    [Fact]
    public void RepeatedStringsAreHeldOnce()
    {
        var pool = new StringPool();
        var first = CompactRun.From(Document(1), pool);
        var second = CompactRun.From(Document(8), pool);
        Assert.Same(first.Tag("team"), second.Tag("team"));
        Assert.Same(first.Param("param_0"), second.Param("param_0")); // (1 + 0) % 7 == (8 + 0) % 7
        Assert.NotSame(first.RunName, second.RunName);
    }

    /// <summary>Enough runs for many blocks, and items larger than a block (a long param, a huge tag).</summary>
    [Theory]
    [InlineData(50)]
    [InlineData(3000)]
    public async Task SnapshotRoundTripsEveryField(int runs)
    {
        var long1 = new string('x', 7000); // past the pool's length limit, as a long param is
        var huge = new string('é', 100_000); // one item larger than a block, and not ASCII
        var docs = Enumerable.Range(0, runs).Select(i => Document(i, extras: i % 10 == 0)).ToList();
        docs[1].Params.Add(new KeyValue("long", long1));
        docs[^1].SetTag("huge", huge);
        var pool = new StringPool();
        var seen = Enumerable.Range(0, runs).Select(i => $"c:{i:D19}:{Document(i).RunId}:0a1b2c3d").ToList();
        var snapshot = new RunSnapshot(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero), seen, [.. docs.Select(d => CompactRun.From(d, pool))]);

        var read = await Read(snapshot.Encode());

        Assert.NotNull(read);
        Assert.Equal(snapshot.Cursor, read.Cursor);
        Assert.Equal(snapshot.SeenKeys, read.SeenKeys);
        Assert.Equal(docs.Select(d => Wire(SearchedRun(d))), read.Runs.Select(r => Wire(r.ToRun())));
        Assert.Equal(long1, read.Runs[1].Param("long"));
        Assert.Equal(huge, read.Runs[^1].Tag("huge"));
    }

    [Fact]
    public async Task AnUnknownVersionOrDamagedDataIsNoSnapshot()
    {
        var data = new RunSnapshot(DateTimeOffset.UnixEpoch, [], [.. Enumerable.Range(0, 2000).Select(i => CompactRun.From(Document(i), new StringPool()))]).Encode();
        Assert.NotNull(await Read(data));

        var newer = (byte[])data.Clone();
        newer[4] = RunSnapshot.Version + 1;
        Assert.Null(await Read(newer));
        Assert.Null(await Read(data[..(data.Length / 2)]));
        Assert.Null(await Read(data[..3]));
        var damaged = (byte[])data.Clone();
        damaged[data.Length / 2] ^= 0x5A;
        Assert.Null(await Read(damaged));
        Assert.Null(await Read("not a snapshot"u8.ToArray()));
    }

    private static Task<RunSnapshot?> Read(byte[] data) => RunSnapshot.ReadAsync(new MemoryStream(data), new StringPool(), CancellationToken.None);

    /// <summary>A value rewritten thousands of times (a progress tag) must not leave every old value in the pool.</summary>
    [Fact]
    public void AViewsPoolFollowsItsLiveRuns()
    {
        var view = new RunView();
        var pool = new StringPool();
        view.Reset(pool, [.. Enumerable.Range(0, 10).Select(i => CompactRun.From(Document(i), pool))]);
        var doc = Document(3);
        for (var i = 0; i < 10_000; i++)
        {
            doc.SetTag("progress", $"{i} of 10000");
            view.Put(CompactRun.From(doc, view.Pool));
            view.TrimPool();
        }
        Assert.InRange(view.Pool.Count, 1, 3000);
        Assert.Equal("9999 of 10000", view.Runs[doc.RunId].Tag("progress"));
        Assert.Equal(Wire(SearchedRun(Document(5))), Wire(view.Runs[Document(5).RunId].ToRun()));
    }

    /// <summary>
    /// Bytes per cached run, measured: 20,000 runs of 5 params, 5 metrics and 3 tags held in a view, the managed heap
    /// compared before and after. The figure is printed; the bound has lots of slack (it only catches a regression to
    /// document-sized runs, several KB each).
    /// </summary>
    [Fact]
    public void MemoryPerCachedRunIsSmall()
    {
        const int runs = 20_000;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var view = new RunView();
        var pool = new StringPool();
        // Each document is garbage once converted, as a scan's are: what stays is the view with every string it holds.
        view.Reset(pool, Enumerable.Range(0, runs).Select(i => CompactRun.From(Document(i), pool)).ToList());
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(view);

        var measured = (after - before) / (double)runs;
        var estimated = view.Bytes / (double)runs;
        output.WriteLine($"bytes per cached run: measured {measured:F0}, estimated {estimated:F0} ({runs} runs, pool {pool.Count} strings)");
        var snapshot = new RunSnapshot(DateTimeOffset.UnixEpoch, [], [.. view.Runs.Values]).Encode();
        output.WriteLine($"snapshot: {snapshot.Length} bytes, {snapshot.Length / (double)runs:F0} per run");
        Assert.Equal(runs, view.Count);
        Assert.InRange(measured, 1, 2000);
        Assert.InRange(estimated, measured / 2, measured * 2); // the cache's accounting follows what is really held
    }
}
