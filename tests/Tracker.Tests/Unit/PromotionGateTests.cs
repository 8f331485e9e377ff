using Tracker.Core;
using Tracker.Core.Promotions;

namespace Tracker.Tests.Unit;

/// <summary>The gate's bound and the request's rules, without storage.</summary>
public sealed class PromotionGateTests
{
    [Theory]
    [InlineData(GateDirection.LowerIsBetter, 0.05, null, 1.0, 1.05)]
    [InlineData(GateDirection.LowerIsBetter, 0.05, null, -2.0, -1.9)] // a negative loss still may only grow by 5 % of its size
    [InlineData(GateDirection.LowerIsBetter, 0.05, 0.1, 1.0, 0.9)] // min_improvement is stricter
    [InlineData(GateDirection.HigherIsBetter, 0.05, null, 0.8, 0.76)]
    [InlineData(GateDirection.HigherIsBetter, 0.05, null, -1.0, -1.05)]
    [InlineData(GateDirection.HigherIsBetter, 0.05, 0.01, 0.8, 0.808)]
    [InlineData(GateDirection.LowerIsBetter, 0.0, null, 0.0, 0.0)]
    public void TheBoundIsRelativeToTheBaselinesMagnitude(string direction, double maxRegression, double? minImprovement, double baseline, double bound) =>
        Assert.Equal(bound, PromotionService.Bound(new PromotionGate("m", direction, maxRegression, minImprovement, null), baseline), 12);

    [Fact]
    public void AStageTargetIsCanonicalAndOnlyAnActiveStage()
    {
        var request = new PromotionRequest("m", 1, new PromotionTarget("staging", null), true, null);
        Assert.Equal("Staging", PromotionValidation.Validate(request).Target.Stage);
        foreach (var target in new[] { new PromotionTarget("None", null), new PromotionTarget("Archived", null), new PromotionTarget("Prod", null),
                     new PromotionTarget(null, null), new PromotionTarget("Production", "champion"), new PromotionTarget(null, "latest"),
                     new PromotionTarget(null, "v3"), new PromotionTarget(null, "a b") })
            Assert.Throws<MlflowException>(() => PromotionValidation.Validate(request with { Target = target }));
    }

    [Theory]
    [InlineData("", GateDirection.LowerIsBetter, 0.05, null, null)]
    [InlineData("m", "lower", 0.05, null, null)]
    [InlineData("m", GateDirection.LowerIsBetter, -0.01, null, null)]
    [InlineData("m", GateDirection.LowerIsBetter, double.NaN, null, null)]
    [InlineData("m", GateDirection.LowerIsBetter, 0.05, -1.0, null)]
    [InlineData("m", GateDirection.LowerIsBetter, 0.05, null, 0L)]
    public void AnInvalidGateIsRefused(string metric, string direction, double maxRegression, double? minImprovement, long? baseline) =>
        Assert.Throws<MlflowException>(() => PromotionValidation.Validate(new PromotionRequest("m", 1, new PromotionTarget("Production", null), true,
            new PromotionGate(metric, direction, maxRegression, minImprovement, baseline))));

    [Fact]
    public void IdsSortNewestFirstAndOnlyTheirShapeIsLookedUp()
    {
        var older = PromotionStore.NewId(1_000);
        var newer = PromotionStore.NewId(2_000);
        Assert.True(string.CompareOrdinal(newer, older) < 0);
        Assert.True(PromotionStore.IsWellFormedId(older));
        Assert.False(PromotionStore.IsWellFormedId(older[..13] + "ABCDEF0123456789"));
        Assert.True(PromotionStore.IsWellFormedId(older[..13] + "abcdef0123456789"));
        Assert.False(PromotionStore.IsWellFormedId(older[..^1]));
        Assert.False(PromotionStore.IsWellFormedId("'" + older[1..]));
        Assert.False(PromotionStore.IsWellFormedId(null));
    }
}
