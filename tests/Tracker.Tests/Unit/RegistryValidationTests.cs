using Tracker.Core;
using Tracker.Core.Registry;

namespace Tracker.Tests.Unit;

/// <summary>MLflow's registry checks and messages (mlflow/utils/validation.py, spec §4).</summary>
public class RegistryValidationTests
{
    [Theory]
    [InlineData("1", 1)]
    [InlineData("42", 42)]
    public void VersionsAreIntegers(string text, long expected) => Assert.Equal(expected, RegistryValidation.Version(text));

    [Theory]
    [InlineData("x")]
    [InlineData("1.5")]
    [InlineData("one")]
    public void ANonIntegerVersionIsMlflowsMessage(string text) =>
        Assert.Equal($"Parameter 'version' must be an integer, got '{text}'.", Assert.Throws<MlflowException>(() => RegistryValidation.Version(text)).Message);

    [Theory]
    [InlineData("champion")]
    [InlineData("prod-2024_a")]
    [InlineData("v")]
    [InlineData("version1")]
    public void ValidAliasesPass(string alias) => RegistryValidation.Alias(alias);

    [Theory]
    [InlineData("", "Registered model alias name cannot be empty.")]
    [InlineData("latest", "'latest' alias name (case insensitive) is reserved.")]
    [InlineData("LaTeSt", "'latest' alias name (case insensitive) is reserved.")]
    [InlineData("v1", "Version alias name 'v1' is reserved.")]
    [InlineData("V12", "Version alias name 'V12' is reserved.")]
    [InlineData("a b", "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-).")]
    [InlineData("a/b", "Invalid alias name: 'a/b'. Names may only contain alphanumerics, underscores (_), and dashes (-).")]
    public void InvalidAliasesAreRefusedWithMlflowsMessage(string alias, string message)
    {
        var e = Assert.Throws<MlflowException>(() => RegistryValidation.Alias(alias));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void AliasesAreAtMost255Characters()
    {
        RegistryValidation.Alias(new string('a', 255));
        Assert.Contains("exceeded length limit of 255", Assert.Throws<MlflowException>(() => RegistryValidation.Alias(new string('a', 256))).Message);
    }

    [Fact]
    public void TagKeysAndValuesHaveMlflowsLimits()
    {
        RegistryValidation.ModelTag(new string('k', 250), new string('v', 100_000));
        RegistryValidation.VersionTag(new string('k', 250), new string('v', 100_000));
        Assert.Contains("exceeded length limit of 250", Assert.Throws<MlflowException>(() => RegistryValidation.ModelTag(new string('k', 251), "v")).Message);
        Assert.Contains("exceeded length limit of 100000", Assert.Throws<MlflowException>(() => RegistryValidation.VersionTag("k", new string('v', 100_001))).Message);
        Assert.Contains("Invalid tag name", Assert.Throws<MlflowException>(() => RegistryValidation.ModelTag("../k", "v")).Message);
        Assert.Contains("Missing value for required parameter 'value'", Assert.Throws<MlflowException>(() => RegistryValidation.VersionTag("k", null)).Message);
    }

    [Theory]
    [InlineData(null, 100)]
    [InlineData(1, 1)]
    [InlineData(1000, 1000)]
    public void RegisteredModelPagesHoldUpTo1000(int? asked, int expected) => Assert.Equal(expected, RegistryValidation.RegisteredModelsPerPage(asked));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1001)]
    public void RegisteredModelPageSizesOutsideTheLimitsAre400(int asked) =>
        Assert.Equal(ErrorCode.InvalidParameterValue, Assert.Throws<MlflowException>(() => RegistryValidation.RegisteredModelsPerPage(asked)).Code);

    [Fact]
    public void ModelVersionPagesHoldUpTo200000()
    {
        Assert.Equal(200_000, RegistryValidation.ModelVersionsPerPage(null));
        Assert.Contains("It must be at most 200000, but got value 200001",
            Assert.Throws<MlflowException>(() => RegistryValidation.ModelVersionsPerPage(200_001)).Message);
    }

    [Theory]
    [InlineData(ModelStages.None)]
    [InlineData(ModelStages.Archived)]
    public void ArchivingExistingVersionsIsOnlyForActiveStages(string stage)
    {
        RegistryValidation.ArchiveExisting(stage, archiveExistingVersions: false);
        RegistryValidation.ArchiveExisting(ModelStages.Production, archiveExistingVersions: true);
        var e = Assert.Throws<MlflowException>(() => RegistryValidation.ArchiveExisting(stage, true));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
        Assert.Equal($"Model version transition cannot archive existing model versions because '{stage}' is not an Active stage. Valid stages are ['Staging', 'Production']", e.Message);
    }
}

public class RegistryNewModelNameTests
{
    [Theory]
    [InlineData("churn")]
    [InlineData("team/churn:v2")]
    [InlineData("100% sure")] // a percent sign that escapes nothing reads the same everywhere
    public void PlainNamesAreKept(string name) => Assert.Equal(name, RegistryValidation.NewModelName(name));

    [Theory]
    [InlineData("fo%6F")]
    [InlineData("a%2Fb")]
    [InlineData("%20foo")]
    public void NamesWithPercentEscapesAreRefused(string name) =>
        Assert.Contains("percent-escape", Assert.Throws<MlflowException>(() => RegistryValidation.NewModelName(name)).Message);

    [Theory]
    [InlineData("foo ")]
    [InlineData("Jose\u0301")] // NFD
    public void LookAlikesAreRefused(string name) =>
        Assert.Equal(ErrorCode.InvalidParameterValue, Assert.Throws<MlflowException>(() => RegistryValidation.NewModelName(name)).Code);
}
