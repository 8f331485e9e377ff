using Azure.Data.Tables;
using Tracker.Core;
using Tracker.Core.Lifecycle;
using Tracker.Core.Registry;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// The run_deleted and experiment_deleted workers against Azurite, with retention 0: what a purge removes (blobs, history
/// rows, logged models, the run row replaced by its tombstone), what it keeps (other runs' files, registered versions'
/// files), and that it reconciles from current state (restored, not due, forged), in bounded steps.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunPurgeTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private LifecycleHarness _h = null!;
    private string _experimentId = "";

    /// <summary>Workers with these options, over tables, a container and queue of their own, and an experiment.</summary>
    private async Task UseAsync(int retentionDays = 0, int maxBlobs = 5000)
    {
        _h = new LifecycleHarness(azurite, new LifecycleOptions { DeletedRetentionDays = retentionDays, MaxBlobsPerMessage = maxBlobs });
        _experimentId = await _h.Tracking.CreateExperimentAsync("purge-" + Guid.NewGuid().ToString("N"), []);
    }

    public Task InitializeAsync() => UseAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A run with <paramref name="files"/> artifacts, a metric history in rows of its own, and (optionally) a
    /// logged model it created with one file.</summary>
    private async Task<(string RunId, string? ModelId)> RunAsync(int files, bool withModel = false, string? experimentId = null)
    {
        experimentId ??= _experimentId;
        var run = (await _h.Tracking.CreateRunAsync(experimentId, "u", null, 1, [])).Info.RunId;
        await _h.Tracking.LogBatchAsync(run, Enumerable.Range(0, 40).Select(i => new Metric("loss", i, i, i)).ToList(), [], []);
        for (var i = 0; i < files; i++) await _h.UploadAsync($"{experimentId}/{run}/artifacts/dir/f{i:D3}.txt");
        string? model = null;
        if (withModel)
        {
            model = (await _h.Tracking.CreateLoggedModelAsync(experimentId, "model", null, run, [], [])).ModelId;
            await _h.UploadAsync($"{experimentId}/models/{model}/artifacts/MLmodel");
        }
        return (run, model);
    }

    private async Task<bool> RunExistsAsync(string runId) =>
        await _h.Tracking.GetRunForPurgeAsync(runId) is not null;

    /// <summary>The run's history rows: in its experiment's partition of the runs table (TrackingStore.History).</summary>
    private Task<List<TableEntity>> HistoryRowsAsync(string runId) =>
        _h.RowsAsync("runs", TableClient.CreateQueryFilter($"PartitionKey eq {RunIds.ExperimentOf(runId)} and RowKey ge {$"h:{runId}:"} and RowKey lt {$"h:{runId};"}"));

    private async Task<TableEntity?> RunRowAsync(string runId) =>
        (await _h.RowsAsync("runs", TableClient.CreateQueryFilter($"PartitionKey eq {RunIds.ExperimentOf(runId)} and RowKey eq {"r:" + runId}"))).SingleOrDefault();

    private async Task DeleteAndPurgeAsync(string runId)
    {
        await _h.Tracking.DeleteRunAsync(runId);
        await _h.Queue.RunDeletedAsync(runId, default);
        await _h.DrainAsync();
    }

    [Fact]
    public async Task ADeletedRunLosesItsFilesHistoryAndLoggedModelsAndItsRowBecomesATombstone()
    {
        var (run, model) = await RunAsync(files: 3, withModel: true);
        var (neighbour, neighbourModel) = await RunAsync(files: 2, withModel: true);
        Assert.NotEmpty(await HistoryRowsAsync(run));

        await DeleteAndPurgeAsync(run);

        Assert.False(await RunExistsAsync(run));
        await Assert.ThrowsAsync<MlflowException>(() => _h.Tracking.GetRunAsync(run));
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/{run}/"));
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/models/{model}/"));
        Assert.Empty(await HistoryRowsAsync(run));
        Assert.Null(await _h.Tracking.GetLoggedModelAsync(model!));
        Assert.Empty(await _h.Tracking.ListLoggedModelsForPurgeAsync(_experimentId, run));
        // The tombstone: the row stays, with nothing of the run in it.
        var row = await RunRowAsync(run);
        Assert.NotNull(row);
        Assert.Equal("purged", row!.GetString("Lifecycle"));
        Assert.Null(row.GetBinary("D0"));
        var all = await _h.Tracking.SearchRunsAsync([_experimentId], null, ViewType.All, 100, [], null);
        Assert.DoesNotContain(all.Items, r => r.Info.RunId == run);

        // The neighbour is untouched.
        Assert.Equal(2, (await _h.BlobsAsync($"{_experimentId}/{neighbour}/")).Count);
        Assert.Single(await _h.BlobsAsync($"{_experimentId}/models/{neighbourModel}/"));
        Assert.NotEmpty(await HistoryRowsAsync(neighbour));
        Assert.Contains(all.Items, r => r.Info.RunId == neighbour);
    }

    [Fact]
    public async Task ALargeRunIsPurgedInBoundedStepsDeletingEachBlobOnce()
    {
        await UseAsync(maxBlobs: 7);
        var (run, model) = await RunAsync(files: 30, withModel: true);
        _h.BlobRequests.Clear();

        await _h.Tracking.DeleteRunAsync(run);
        await _h.Queue.RunDeletedAsync(run, default);
        var messages = await _h.DrainAsync();

        // 31 blobs at 7 a message, then the rows: at least five messages, each a continuation after the first.
        Assert.True(messages.Count >= 5, $"{messages.Count} messages");
        Assert.All(messages.Skip(1), m => Assert.Contains("\"continuation\"", m));
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/{run}/"));
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/models/{model}/"));
        Assert.False(await RunExistsAsync(run));
        var deletes = _h.BlobRequests.Where(r => r.Method == "DELETE").GroupBy(r => r.Blob).ToList();
        Assert.Equal(31, deletes.Count);
        Assert.All(deletes, d => Assert.Single(d));
    }

    [Fact]
    public async Task ARunNotYetDueIsLookedAtAgainLaterAndKeptMeanwhile()
    {
        await UseAsync(retentionDays: 30);
        var (run, _) = await RunAsync(files: 2);
        await _h.Tracking.DeleteRunAsync(run);
        await _h.Queue.RunDeletedAsync(run, default);

        Assert.Single(await _h.DrainAsync());

        // The follow-up is queued, invisible until it is due (at most the queue's seven days: a chain).
        Assert.Equal(1, await _h.QueuedAsync());
        Assert.Empty(await _h.DrainAsync());
        Assert.True(await RunExistsAsync(run));
        Assert.Equal(2, (await _h.BlobsAsync($"{_experimentId}/{run}/")).Count);
    }

    [Fact]
    public async Task ARunRestoredBeforeItsPurgeKeepsEverything()
    {
        var (run, model) = await RunAsync(files: 2, withModel: true);
        await _h.Tracking.DeleteRunAsync(run);
        await _h.Queue.RunDeletedAsync(run, default);
        await _h.Tracking.RestoreRunAsync(run);

        await _h.DrainAsync();

        Assert.Equal(LifecycleStage.Active, (await _h.Tracking.GetRunAsync(run)).Info.LifecycleStage);
        Assert.Equal(2, (await _h.BlobsAsync($"{_experimentId}/{run}/")).Count);
        Assert.NotNull(await _h.Tracking.GetLoggedModelAsync(model!));
        Assert.NotEmpty(await HistoryRowsAsync(run));
        Assert.Equal(0, await _h.QueuedAsync());
    }

    [Fact]
    public async Task ForgedMessagesPurgeNothing()
    {
        var (active, _) = await RunAsync(files: 2, withModel: true);
        _h.BlobRequests.Clear();

        // An active run named, with and without a continuation that would skip to its rows; another experiment's run
        // id spelled into a continuation; ids Tracker never issued; an active experiment; text that is no message.
        await _h.HandleAsync($$"""{"kind":"run_deleted","run_id":"{{active}}"}""");
        await _h.HandleAsync($$"""{"kind":"run_deleted","run_id":"{{active}}","continuation":"r"}""");
        await _h.HandleAsync("""{"kind":"run_deleted","run_id":"../../0/x"}""");
        await _h.HandleAsync("""{"kind":"run_deleted"}""");
        await _h.HandleAsync($$"""{"kind":"experiment_deleted","experiment_id":"{{_experimentId}}","continuation":"b:"}""");
        await _h.HandleAsync("""{"kind":"experiment_deleted","experiment_id":"x/../0"}""");
        await _h.HandleAsync("not json");

        Assert.Equal(LifecycleStage.Active, (await _h.Tracking.GetRunAsync(active)).Info.LifecycleStage);
        Assert.Equal(2, (await _h.BlobsAsync($"{_experimentId}/{active}/")).Count);
        Assert.NotEmpty(await HistoryRowsAsync(active));
        Assert.NotNull(await _h.Tracking.GetExperimentAsync(_experimentId));
        Assert.DoesNotContain(_h.BlobRequests, r => r.Method == "DELETE");
        Assert.Equal(0, await _h.QueuedAsync());
    }

    [Fact]
    public async Task AForgedContinuationOnADeletedRunStillDeletesItsFilesBeforeItsRow()
    {
        var (run, _) = await RunAsync(files: 3);
        await _h.Tracking.DeleteRunAsync(run);

        await _h.HandleAsync($$"""{"kind":"run_deleted","run_id":"{{run}}","continuation":"r"}""");
        await _h.DrainAsync();

        Assert.False(await RunExistsAsync(run));
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/{run}/"));
    }

    [Fact]
    public async Task AMarkerThatSkipsFilesCannotMakeTheRunsRowGoWhileTheyStay()
    {
        var (run, _) = await RunAsync(files: 3);
        await _h.Tracking.DeleteRunAsync(run);
        // A genuine listing marker, but from further along the container than any file of the run ('z' sorts after the
        // run id's hex digits): resuming the run's listing there finds nothing.
        await _h.UploadAsync($"{_experimentId}/zzzz/a");
        await _h.UploadAsync($"{_experimentId}/zzzz/b");
        var blobs = new LifecycleBlobs(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString),
            Microsoft.Extensions.Options.Options.Create(new Core.Storage.StorageOptions { ArtifactsContainer = _h.Prefix }));
        var (_, marker) = await blobs.WalkAsync($"{_experimentId}/zzzz/", null, 1, (_, _) => Task.CompletedTask, default);
        Assert.NotNull(marker);

        await _h.HandleAsync(new LifecycleMessage { Kind = LifecycleMessage.RunDeleted, RunId = run, Continuation = $"b:{run}:{marker}" }.ToJson());
        await _h.DrainAsync();

        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/{run}/"));
        Assert.False(await RunExistsAsync(run));
        Assert.Equal(2, (await _h.BlobsAsync($"{_experimentId}/zzzz/")).Count);
    }

    [Fact]
    public async Task FilesOfARegisteredVersionAndItsRunAreKeptUntilTheVersionGoes()
    {
        var (run, model) = await RunAsync(files: 0, withModel: true);
        await _h.UploadAsync($"{_experimentId}/{run}/artifacts/model/model.pkl");
        await _h.UploadAsync($"{_experimentId}/{run}/artifacts/model/MLmodel");
        await _h.UploadAsync($"{_experimentId}/{run}/artifacts/model.pkl2"); // shares the name's start, not the directory
        await _h.UploadAsync($"{_experimentId}/{run}/artifacts/plot.png");
        var name = "purge-" + Guid.NewGuid().ToString("N")[..8];
        await _h.Registry.CreateRegisteredModelAsync(name, [], null, null);
        var source = $"runs:/{run}/model";
        await _h.Registry.CreateModelVersionAsync(new NewModelVersion(name, source, source, run, [], null, null, null, "u"));
        await _h.Registry.TransitionModelVersionStageAsync(name, 1, ModelStages.Archived, false);

        await DeleteAndPurgeAsync(run);

        Assert.Equal(
            [$"{_experimentId}/{run}/artifacts/model/MLmodel", $"{_experimentId}/{run}/artifacts/model/model.pkl"],
            (await _h.BlobsAsync($"{_experimentId}/{run}/")).Order(StringComparer.Ordinal));
        // The run stays (deleted): the client resolves the version's runs:/ source through it.
        Assert.Equal(LifecycleStage.Deleted, (await _h.Tracking.GetRunAsync(run)).Info.LifecycleStage);
        Assert.NotEmpty(await HistoryRowsAsync(run));
        // The logged model no version names goes.
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/models/{model}/"));

        await _h.Registry.DeleteModelVersionAsync(name, 1);
        await _h.Queue.RunDeletedAsync(run, default);
        await _h.DrainAsync();

        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/{run}/"));
        Assert.False(await RunExistsAsync(run));
    }

    [Fact]
    public async Task ALoggedModelARegisteredVersionNamesIsKeptWithItsFiles()
    {
        var (run, model) = await RunAsync(files: 1, withModel: true);
        var name = "purge-" + Guid.NewGuid().ToString("N")[..8];
        await _h.Registry.CreateRegisteredModelAsync(name, [], null, null);
        var location = LoggedModelIds.ArtifactUri(_experimentId, model!);
        await _h.Registry.CreateModelVersionAsync(new NewModelVersion(name, "models:/" + model, location, null, [], null, null, model, "u"));

        await DeleteAndPurgeAsync(run);

        Assert.Single(await _h.BlobsAsync($"{_experimentId}/models/{model}/"));
        Assert.NotNull(await _h.Tracking.GetLoggedModelAsync(model!));
        // The run itself no version names: purged.
        Assert.Empty(await _h.BlobsAsync($"{_experimentId}/{run}/"));
        Assert.False(await RunExistsAsync(run));
    }

    [Fact]
    public async Task ADeletedExperimentIsPurgedWithAllItsRunsAndItsNameCanBeUsedAgain()
    {
        await UseAsync(maxBlobs: 4);
        var name = "purge-exp-" + Guid.NewGuid().ToString("N");
        var experiment = await _h.Tracking.CreateExperimentAsync(name, []);
        var (first, model) = await RunAsync(files: 5, withModel: true, experimentId: experiment);
        var (second, _) = await RunAsync(files: 3, experimentId: experiment);
        await _h.Tracking.RestoreRunAsync(first); // no-op: active runs go with their experiment too
        var (other, _) = await RunAsync(files: 2); // another experiment's
        Assert.Equal(2, (await _h.Tracking.SearchRunsAsync([experiment], null, ViewType.All, 10, [], null)).Items.Count);
        await _h.Tracking.SnapshotWritesSettled();
        var snapshot = _h.Snapshots.GetBlobClient(_h.Tracking.SnapshotBlob(experiment));
        Assert.True(await snapshot.ExistsAsync());

        await _h.Tracking.DeleteExperimentAsync(experiment);
        await _h.Queue.ExperimentDeletedAsync(experiment, default);
        var messages = await _h.DrainAsync();

        Assert.True(messages.Count > 1, "bounded: follow-ups");
        Assert.Null(await _h.Tracking.GetExperimentAsync(experiment));
        Assert.False(await RunExistsAsync(first));
        Assert.False(await RunExistsAsync(second));
        Assert.Empty(await _h.BlobsAsync($"{experiment}/"));
        Assert.Null(await _h.Tracking.GetLoggedModelAsync(model!));
        Assert.Empty(await HistoryRowsAsync(first));
        Assert.Equal(2, (await _h.BlobsAsync($"{_experimentId}/{other}/")).Count);
        Assert.NotEqual(experiment, await _h.Tracking.CreateExperimentAsync(name, []));
        Assert.False(await snapshot.ExistsAsync());
    }

    [Fact]
    public async Task AnExperimentKeepsTheRunARegisteredVersionNeedsAndItsOwnRowUntilTheVersionGoes()
    {
        var name = "purge-exp-" + Guid.NewGuid().ToString("N");
        var experiment = await _h.Tracking.CreateExperimentAsync(name, []);
        var (registered, _) = await RunAsync(files: 2, experimentId: experiment);
        var (other, model) = await RunAsync(files: 2, withModel: true, experimentId: experiment);
        var modelName = "purge-" + Guid.NewGuid().ToString("N")[..8];
        await _h.Registry.CreateRegisteredModelAsync(modelName, [], null, null);
        await _h.Registry.CreateModelVersionAsync(new NewModelVersion(modelName, $"runs:/{registered}/dir", $"runs:/{registered}/dir", registered, [], null, null, null, "u"));
        await _h.UploadAsync($"{experiment}/{registered}/artifacts/notes.txt");

        await _h.Tracking.DeleteExperimentAsync(experiment);
        await _h.Queue.ExperimentDeletedAsync(experiment, default);
        await _h.DrainAsync();

        Assert.Equal(2, (await _h.BlobsAsync($"{experiment}/{registered}/artifacts/dir/")).Count);
        Assert.Empty(await _h.BlobsAsync($"{experiment}/{registered}/artifacts/notes.txt"));
        Assert.True(await RunExistsAsync(registered));
        Assert.False(await RunExistsAsync(other));
        Assert.Empty(await _h.BlobsAsync($"{experiment}/models/{model}/"));
        Assert.NotNull(await _h.Tracking.GetExperimentAsync(experiment)); // its run still belongs to it

        await _h.Registry.DeleteModelVersionAsync(modelName, 1);
        await _h.Queue.ExperimentDeletedAsync(experiment, default);
        await _h.DrainAsync();

        Assert.Empty(await _h.BlobsAsync($"{experiment}/"));
        Assert.False(await RunExistsAsync(registered));
        Assert.Null(await _h.Tracking.GetExperimentAsync(experiment));
    }

    [Fact]
    public async Task LoggedModelRowsCountAgainstTheBudgetToo()
    {
        await UseAsync(maxBlobs: 2);
        var experiment = await _h.Tracking.CreateExperimentAsync("purge-exp-" + Guid.NewGuid().ToString("N"), []);
        var (run, _) = await RunAsync(files: 0, experimentId: experiment);
        var models = new List<string>();
        for (var i = 0; i < 7; i++) models.Add((await _h.Tracking.CreateLoggedModelAsync(experiment, $"m{i}", null, i % 2 == 0 ? run : null, [], [])).ModelId);

        await _h.Tracking.DeleteExperimentAsync(experiment);
        await _h.Queue.ExperimentDeletedAsync(experiment, default);
        var messages = await _h.DrainAsync();

        Assert.True(messages.Count >= 4, $"{messages.Count} messages");
        Assert.Empty(await _h.Tracking.ListLoggedModelsForPurgeAsync(experiment, null));
        Assert.Null(await _h.Tracking.GetExperimentAsync(experiment));
    }

    [Fact]
    public async Task AForgedContinuationCannotMakeAnExperimentsRowGoWhileItsRunsOrFilesStay()
    {
        var experiment = await _h.Tracking.CreateExperimentAsync("purge-exp-" + Guid.NewGuid().ToString("N"), []);
        var (run, _) = await RunAsync(files: 3, experimentId: experiment);
        await _h.UploadAsync($"{experiment}/loose/file");
        // A genuine marker from past the experiment's root ("<id>0/" sorts after "<id>/"), as a forged message could carry.
        await _h.UploadAsync($"{experiment}0/zz/a");
        await _h.UploadAsync($"{experiment}0/zz/b");
        var blobs = new LifecycleBlobs(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString),
            Microsoft.Extensions.Options.Options.Create(new Core.Storage.StorageOptions { ArtifactsContainer = _h.Prefix }));
        var (_, marker) = await blobs.WalkAsync($"{experiment}0/", null, 1, (_, _) => Task.CompletedTask, default);
        await _h.Tracking.DeleteExperimentAsync(experiment);

        await _h.HandleAsync(new LifecycleMessage { Kind = LifecycleMessage.ExperimentDeleted, ExperimentId = experiment, Continuation = "b:" + marker }.ToJson());
        await _h.DrainAsync();

        Assert.False(await RunExistsAsync(run));
        Assert.Empty(await _h.BlobsAsync($"{experiment}/"));
        Assert.Null(await _h.Tracking.GetExperimentAsync(experiment));
        Assert.Equal(2, (await _h.BlobsAsync($"{experiment}0/")).Count);
    }

    [Fact]
    public async Task AnExperimentRestoredBeforeItsPurgeKeepsEverything()
    {
        var experiment = await _h.Tracking.CreateExperimentAsync("purge-exp-" + Guid.NewGuid().ToString("N"), []);
        var (run, _) = await RunAsync(files: 2, experimentId: experiment);
        await _h.Tracking.DeleteExperimentAsync(experiment);
        await _h.Queue.ExperimentDeletedAsync(experiment, default);
        await _h.Tracking.RestoreExperimentAsync(experiment);

        await _h.DrainAsync();

        Assert.Equal(LifecycleStage.Active, (await _h.Tracking.GetRunAsync(run)).Info.LifecycleStage);
        Assert.Equal(2, (await _h.BlobsAsync($"{experiment}/")).Count);
    }
}
