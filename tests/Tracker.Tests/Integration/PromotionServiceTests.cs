using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Promotions;
using Tracker.Core.Registry;
using Tracker.Core.Storage;
using Tracker.Core.Tracking;
using Tracker.Tests.Infrastructure;

namespace Tracker.Tests.Integration;

/// <summary>
/// Promotions against real Azurite, the consumer called directly with the message the request enqueued (as the trigger
/// would): the seeds' regression gate, alias targets, missing metrics, redelivery, poison, forged messages.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PromotionServiceTests : IAsyncLifetime
{
    private readonly string _prefix = "p" + Guid.NewGuid().ToString("N")[..12];
    private readonly QueueClient _queue;
    private readonly TrackingStore _tracking;
    private readonly RegistryStore _registry;
    private readonly AuthStore _auth;
    private readonly PromotionStore _promotions;
    private readonly PromotionService _service;
    private string _experimentId = "";

    public PromotionServiceTests(AzuriteFixture azurite)
    {
        var tables = new TableServiceClient(azurite.ConnectionString);
        var storage = Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString, TablePrefix = _prefix });
        var authOptions = Options.Create(new AuthOptions { DefaultPermission = "READ" });
        var keys = new ServerKeys(tables, storage, authOptions);
        _queue = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
            .GetQueueClient("promotions-" + _prefix);
        _tracking = new TrackingStore(tables, storage, keys, NullLogger<TrackingStore>.Instance);
        _registry = new RegistryStore(tables, storage, keys, NullLogger<RegistryStore>.Instance);
        _auth = new AuthStore(tables, storage, keys, TimeProvider.System, NullLogger<AuthStore>.Instance);
        _promotions = new PromotionStore(tables, storage, keys);
        _service = new PromotionService(_promotions, _registry, _tracking, _auth, authOptions, _queue, TimeProvider.System,
            NullLogger<PromotionService>.Instance);
    }

    public async Task InitializeAsync()
    {
        _experimentId = await _tracking.CreateExperimentAsync("promotions", []);
        await _auth.CreateUserAsync("ci", "password-ci-1234");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A version of <paramref name="model"/> whose source run logged <c>val_loss</c> (when given) and nothing else.</summary>
    private async Task<long> VersionAsync(string model, double? valLoss, string key = "val_loss")
    {
        var run = await _tracking.CreateRunAsync(_experimentId, "ci", null, 1, []);
        if (valLoss is { } v) await _tracking.LogBatchAsync(run.Info.RunId, [new Metric(key, v, 1, 0)], [], []);
        var version = await _registry.CreateModelVersionAsync(new NewModelVersion(
            model, $"runs:/{run.Info.RunId}/model", "x", run.Info.RunId, [], null, null, null, "ci"));
        return version.Version;
    }

    private async Task<string> ModelWithProductionAsync(double productionValLoss)
    {
        var name = "m" + Guid.NewGuid().ToString("N")[..8];
        await _registry.CreateRegisteredModelAsync(name, [], null, null);
        await _auth.CreateRegisteredModelPermissionAsync(name, "ci", Permission.Edit);
        var v1 = await VersionAsync(name, productionValLoss);
        await _registry.TransitionModelVersionStageAsync(name, v1, ModelStages.Production, false);
        return name;
    }

    private static PromotionGate ValLossGate(double maxRegression = 0.05) =>
        new("val_loss", GateDirection.LowerIsBetter, maxRegression, null, null);

    private static PromotionRequest ToProduction(string name, long version, PromotionGate? gate) =>
        new(name, version, new PromotionTarget("production", null), true, gate);

    /// <summary>The one message the request enqueued, as the trigger hands it over (and gone from the queue).</summary>
    private async Task<QueueMessage> TakeMessageAsync()
    {
        var received = (await _queue.ReceiveMessagesAsync(maxMessages: 32)).Value;
        var message = Assert.Single(received);
        await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        return new QueueMessage(_queue.Name, message.Body.ToString(), message.DequeueCount, message.MessageId);
    }

    private async Task<Promotion> RequestAndProcessAsync(PromotionRequest request, string requester = "ci")
    {
        var pending = await _service.RequestAsync(requester, request, default);
        Assert.Equal(PromotionStatus.Pending, pending.Status);
        await _service.ProcessAsync(await TakeMessageAsync(), default);
        return await _service.GetAsync(pending.Id, default);
    }

    [Fact]
    public async Task ACandidateMoreThanFivePercentWorseThanProductionIsRejectedWithBothFigures()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 1.06);

        var promotion = await RequestAndProcessAsync(ToProduction(name, v2, ValLossGate()));

        Assert.Equal(PromotionStatus.Rejected, promotion.Status);
        Assert.Equal(new GateFigures(1.06, 1.0, 1, 1.05), promotion.Figures);
        Assert.Contains("1.06", promotion.Reason);
        Assert.Contains("1.05", promotion.Reason);
        Assert.Equal(ModelStages.None, (await _registry.GetModelVersionAsync(name, v2)).CurrentStage);
        Assert.Equal(ModelStages.Production, (await _registry.GetModelVersionAsync(name, 1)).CurrentStage);
    }

    [Fact]
    public async Task ABetterCandidateSucceedsArchivesThePreviousProductionAndIsTaggedWithThePromotion()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);

        var promotion = await RequestAndProcessAsync(ToProduction(name, v2, ValLossGate()));

        Assert.Equal(PromotionStatus.Succeeded, promotion.Status);
        Assert.Null(promotion.Reason);
        Assert.Equal(new GateFigures(0.9, 1.0, 1, 1.05), promotion.Figures);
        var candidate = await _registry.GetModelVersionAsync(name, v2);
        Assert.Equal(ModelStages.Production, candidate.CurrentStage);
        Assert.Contains(new KeyValue(RegistryStore.PromotionTag, promotion.Id), candidate.Tags);
        Assert.Equal(ModelStages.Archived, (await _registry.GetModelVersionAsync(name, 1)).CurrentStage);
    }

    [Fact]
    public async Task AnAliasTargetMovesTheAliasAndLeavesStagesAlone()
    {
        var name = await ModelWithProductionAsync(1.0);
        await _registry.SetRegisteredModelAliasAsync(name, "champion", 1);
        var v2 = await VersionAsync(name, 1.02); // worse, but within 5 %

        var promotion = await RequestAndProcessAsync(new PromotionRequest(name, v2, new PromotionTarget(null, "champion"), true, ValLossGate()));

        Assert.Equal(PromotionStatus.Succeeded, promotion.Status);
        Assert.Equal(1, promotion.Figures!.BaselineVersion);
        Assert.Equal(v2, (await _registry.GetModelVersionByAliasAsync(name, "champion")).Version);
        Assert.Equal(ModelStages.Production, (await _registry.GetModelVersionAsync(name, 1)).CurrentStage);
        Assert.Equal(ModelStages.None, (await _registry.GetModelVersionAsync(name, v2)).CurrentStage);
    }

    [Fact]
    public async Task HigherIsBetterWithAMinimumImprovementRefusesAnEqualCandidate()
    {
        var name = "m" + Guid.NewGuid().ToString("N")[..8];
        await _registry.CreateRegisteredModelAsync(name, [], null, null);
        await _auth.CreateRegisteredModelPermissionAsync(name, "ci", Permission.Edit);
        var v1 = await VersionAsync(name, 0.8, "accuracy");
        await _registry.SetRegisteredModelAliasAsync(name, "champion", v1);
        var v2 = await VersionAsync(name, 0.8, "accuracy");

        var promotion = await RequestAndProcessAsync(new PromotionRequest(name, v2, new PromotionTarget(null, "champion"), true,
            new PromotionGate("accuracy", GateDirection.HigherIsBetter, 0.05, 0.01, null)));

        Assert.Equal(PromotionStatus.Rejected, promotion.Status);
        Assert.Equal(0.8 * 1.01, promotion.Figures!.AllowedBound!.Value, 12);
        Assert.Equal(v1, (await _registry.GetModelVersionByAliasAsync(name, "champion")).Version);
    }

    [Fact]
    public async Task AMissingMetricOnEitherSideIsRejectedNeverPassed()
    {
        var name = await ModelWithProductionAsync(1.0);
        var noMetric = await VersionAsync(name, null);
        var rejected = await RequestAndProcessAsync(ToProduction(name, noMetric, ValLossGate()));
        Assert.Equal(PromotionStatus.Rejected, rejected.Status);
        Assert.Contains($"Candidate version {noMetric} has no metric 'val_loss'", rejected.Reason);

        var other = "m" + Guid.NewGuid().ToString("N")[..8];
        await _registry.CreateRegisteredModelAsync(other, [], null, null);
        await _auth.CreateRegisteredModelPermissionAsync(other, "ci", Permission.Edit);
        var baseline = await VersionAsync(other, null);
        await _registry.TransitionModelVersionStageAsync(other, baseline, ModelStages.Production, false);
        var candidate = await VersionAsync(other, 0.5);
        var noBaseline = await RequestAndProcessAsync(ToProduction(other, candidate, ValLossGate()));
        Assert.Equal(PromotionStatus.Rejected, noBaseline.Status);
        Assert.Contains($"Baseline version {baseline} has no metric 'val_loss'", noBaseline.Reason);
        Assert.Equal(ModelStages.None, (await _registry.GetModelVersionAsync(other, candidate)).CurrentStage);
    }

    [Fact]
    public async Task TheLoggedModelsMetricIsUsedWhereTheVersionHasOne()
    {
        var name = await ModelWithProductionAsync(1.0);
        var run = await _tracking.CreateRunAsync(_experimentId, "ci", null, 1, []);
        await _tracking.LogBatchAsync(run.Info.RunId, [new Metric("val_loss", 5.0, 1, 0)], [], []); // the run's is worse
        var logged = await _tracking.CreateLoggedModelAsync(_experimentId, "model", null, run.Info.RunId, [], []);
        await _tracking.LogLoggedModelMetricsAsync(run.Info.RunId, [(logged.ModelId, new LoggedModelMetric("val_loss", 0.95, 1, 0, run.Info.RunId, null, null))]);
        var version = await _registry.CreateModelVersionAsync(new NewModelVersion(
            name, $"models:/{logged.ModelId}", "x", run.Info.RunId, [], null, null, logged.ModelId, "ci"));

        var promotion = await RequestAndProcessAsync(ToProduction(name, version.Version, ValLossGate()));

        Assert.Equal(PromotionStatus.Succeeded, promotion.Status);
        Assert.Equal(0.95, promotion.Figures!.CandidateValue);
    }

    [Fact]
    public async Task ARedeliveredMessageChangesNothingTwice()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);
        var pending = await _service.RequestAsync("ci", ToProduction(name, v2, ValLossGate()), default);
        var message = await TakeMessageAsync();
        await _service.ProcessAsync(message, default);
        var decided = await _service.GetAsync(pending.Id, default);
        var afterFirst = await _registry.GetRegisteredModelAsync(name);

        // Meanwhile someone moves v1 back to Production: a redelivery must not archive it again.
        await _registry.TransitionModelVersionStageAsync(name, 1, ModelStages.Production, false);
        var beforeRedelivery = await _registry.GetRegisteredModelAsync(name);
        await _service.ProcessAsync(message with { DequeueCount = 2 }, default);

        Assert.Equal(decided, await _service.GetAsync(pending.Id, default));
        Assert.Equal(beforeRedelivery.LastUpdatedTimestamp, (await _registry.GetRegisteredModelAsync(name)).LastUpdatedTimestamp);
        Assert.Equal(ModelStages.Production, (await _registry.GetModelVersionAsync(name, 1)).CurrentStage);
        Assert.True(afterFirst.LastUpdatedTimestamp <= beforeRedelivery.LastUpdatedTimestamp);
    }

    [Fact]
    public async Task TwoDeliveriesAtOnceDecideOnceAndApplyOnce()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);
        var pending = await _service.RequestAsync("ci", ToProduction(name, v2, ValLossGate()), default);
        var message = await TakeMessageAsync();

        await Task.WhenAll(_service.ProcessAsync(message, default), _service.ProcessAsync(message with { DequeueCount = 2 }, default));

        var decided = await _service.GetAsync(pending.Id, default);
        Assert.Equal(PromotionStatus.Succeeded, decided.Status);
        Assert.Equal(new GateFigures(0.9, 1.0, 1, 1.05), decided.Figures);
        var model = await _registry.GetRegisteredModelAsync(name);
        Assert.Equal([(1L, ModelStages.Archived), (v2, ModelStages.Production)],
            model.LatestVersions.Select(v => (v.Version, v.CurrentStage)).OrderBy(v => v.Version));
    }

    [Fact]
    public async Task ADeliveryThatAppliedButDidNotRecordIsRecordedWithoutApplyingAgain()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);
        var pending = await _service.RequestAsync("ci", ToProduction(name, v2, ValLossGate()), default);
        var message = await TakeMessageAsync();
        // What a delivery that stopped between the registry write and the status write leaves behind.
        Assert.True(await _registry.ApplyPromotionAsync(name, v2, ModelStages.Production, null, true, 1, pending.Id));
        var applied = await _registry.GetRegisteredModelAsync(name);

        await _service.ProcessAsync(message with { DequeueCount = 2 }, default);

        Assert.Equal(PromotionStatus.Succeeded, (await _service.GetAsync(pending.Id, default)).Status);
        Assert.Equal(applied.LastUpdatedTimestamp, (await _registry.GetRegisteredModelAsync(name)).LastUpdatedTimestamp);
    }

    [Fact]
    public async Task APoisonedMessageMarksItsPromotionFailedWithTheReason()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);
        var pending = await _service.RequestAsync("ci", ToProduction(name, v2, ValLossGate()), default);
        var message = await TakeMessageAsync();

        await _service.RecordPoisonAsync(message with { Queue = PromotionService.PoisonQueueName, DequeueCount = 5 }, default);

        var failed = await _service.GetAsync(pending.Id, default);
        Assert.Equal(PromotionStatus.Failed, failed.Status);
        Assert.Contains("poison queue", failed.Reason);
        Assert.Equal(ModelStages.None, (await _registry.GetModelVersionAsync(name, v2)).CurrentStage);
        // A late delivery of the original message finds it decided.
        await _service.ProcessAsync(message, default);
        Assert.Equal(failed, await _service.GetAsync(pending.Id, default));
    }

    [Fact]
    public async Task AFailingDeliveryIsRetriedByTheQueueAndItsErrorIsThePoisonReason()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);
        var pending = await _service.RequestAsync("ci", ToProduction(name, v2, ValLossGate()), default);
        var message = await TakeMessageAsync();
        // An instance whose tracking storage cannot be reached: the metrics cannot be read.
        var unreachable = new TableClientOptions();
        unreachable.Retry.MaxRetries = 0;
        var deadTables = new TableServiceClient(new Uri($"http://127.0.0.1:{AzuriteFixture.FreePort()}/devstoreaccount1"),
            new TableSharedKeyCredential("devstoreaccount1", Convert.ToBase64String(new byte[64])), unreachable);
        var storage = Options.Create(new StorageOptions { ConnectionString = "unused", TablePrefix = _prefix });
        var broken = new PromotionService(_promotions, _registry,
            new TrackingStore(deadTables, storage, new ServerKeys(deadTables, storage, Options.Create(new AuthOptions())), NullLogger<TrackingStore>.Instance),
            _auth, Options.Create(new AuthOptions { DefaultPermission = "READ" }), _queue, TimeProvider.System, NullLogger<PromotionService>.Instance);

        var error = await Assert.ThrowsAsync<MlflowException>(() => broken.ProcessAsync(message, default));
        Assert.Equal(ErrorCode.TemporarilyUnavailable, error.Code);
        var stillPending = await _service.GetAsync(pending.Id, default);
        Assert.Equal(PromotionStatus.Pending, stillPending.Status);
        Assert.StartsWith("Delivery 1 failed", stillPending.Reason);

        await _service.RecordPoisonAsync(message with { Queue = PromotionService.PoisonQueueName }, default);
        var failed = await _service.GetAsync(pending.Id, default);
        Assert.Equal(PromotionStatus.Failed, failed.Status);
        Assert.Contains("poison queue", failed.Reason);
        Assert.Contains("Delivery 1 failed", failed.Reason);
        Assert.Equal(ModelStages.None, (await _registry.GetModelVersionAsync(name, v2)).CurrentStage);
    }

    [Fact]
    public async Task ARequesterWhoLostEditIsRejectedWhateverTheMessageClaims()
    {
        var name = await ModelWithProductionAsync(1.0);
        var v2 = await VersionAsync(name, 0.9);
        var pending = await _service.RequestAsync("ci", ToProduction(name, v2, null), default);
        await TakeMessageAsync();
        await _auth.UpdateRegisteredModelPermissionAsync(name, "ci", Permission.Read);

        // A forged message: the id of a real promotion plus claims the consumer must not believe.
        var forged = $$"""{"promotion_id":"{{pending.Id}}","requester":"admin","status":"succeeded","name":"{{name}}"}""";
        await _service.ProcessAsync(new QueueMessage(PromotionService.QueueName, forged, 1, "forged"), default);

        var rejected = await _service.GetAsync(pending.Id, default);
        Assert.Equal(PromotionStatus.Rejected, rejected.Status);
        Assert.Contains("no longer holds EDIT", rejected.Reason);
        Assert.Equal(ModelStages.None, (await _registry.GetModelVersionAsync(name, v2)).CurrentStage);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"promotion_id": 5}""")]
    [InlineData("""{"promotion_id": "../../x"}""")]
    [InlineData("""{"promotion_id": "00000000000001234567890abcdef0"}""")]
    [InlineData("""{"promotion_id": "0000000000000123456789abcdef0"}""")] // well formed, issued by nobody
    public async Task AMalformedOrUnknownMessageChangesNothing(string text)
    {
        var name = await ModelWithProductionAsync(1.0);
        var before = await _registry.GetRegisteredModelAsync(name);
        await _service.ProcessAsync(new QueueMessage(PromotionService.QueueName, text, 1, "m"), default);
        await _service.RecordPoisonAsync(new QueueMessage(PromotionService.PoisonQueueName, text, 1, "m"), default);
        Assert.Equal(before.LastUpdatedTimestamp, (await _registry.GetRegisteredModelAsync(name)).LastUpdatedTimestamp);
    }

    [Fact]
    public async Task ARequestIsValidatedBeforeAnythingIsStoredOrQueued()
    {
        var name = await ModelWithProductionAsync(1.0);
        async Task<MlflowException> Refused(PromotionRequest request) =>
            await Assert.ThrowsAsync<MlflowException>(() => _service.RequestAsync("ci", request, default));

        Assert.Equal(ErrorCode.ResourceDoesNotExist, (await Refused(ToProduction(name, 99, null))).Code);
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Refused(new PromotionRequest(name, 1, new PromotionTarget("Production", "champion"), true, null))).Code);
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Refused(new PromotionRequest(name, 1, new PromotionTarget("Archived", null), true, null))).Code);
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Refused(ToProduction(name, 1, ValLossGate() with { Direction = "down" }))).Code);
        Assert.Equal(ErrorCode.InvalidParameterValue, (await Refused(ToProduction(name, 1, ValLossGate(-0.1)))).Code);
        Assert.Empty((await _promotions.SearchAsync(RegistryNames.Canonical(name), 10, null)).Items);
        await _queue.CreateIfNotExistsAsync();
        Assert.Empty((await _queue.PeekMessagesAsync(10)).Value);
    }

    [Fact]
    public async Task SearchAnswersAModelsPromotionsNewestFirstInSignedPages()
    {
        var name = await ModelWithProductionAsync(1.0);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await _service.RequestAsync("ci", ToProduction(name, 1, null), default)).Id);
            await Task.Delay(2); // distinct milliseconds, so the order is the request order
        }
        ids.Reverse();
        var first = await _service.SearchAsync(name, 2, null, default);
        Assert.Equal(ids[..2], first.Items.Select(p => p.Id));
        var second = await _service.SearchAsync(name, 2, first.NextPageToken, default);
        Assert.Equal(ids[2..], second.Items.Select(p => p.Id));
        Assert.Null(second.NextPageToken);
        await Assert.ThrowsAsync<MlflowException>(() => _service.SearchAsync(name, 3, first.NextPageToken, default));
    }
}
