using System.Globalization;
using System.Text.Json.Nodes;
using Tracker.Core.Lifecycle;

namespace Tracker.Tests.Infra;

// Issue 10 §3-4 infrastructure: the lifecycle settings and the blob lifecycle-management backstop for archived files.
public partial class InfraTests
{
    // Each Tracker__Lifecycle__* setting takes main.bicep's parameter of the same meaning (through the function app
    // module), and that parameter's default is LifecycleOptions' own: a deployment that sets nothing behaves as the code.
    [Theory]
    [InlineData("DeletedRetentionDays", "deletedRetentionDays", "string(parameters('deletedRetentionDays'))")]
    [InlineData("ArchivedCoolAfterDays", "archivedCoolAfterDays", "string(parameters('archivedCoolAfterDays'))")]
    [InlineData("CleanupSchedule", "cleanupSchedule", "parameters('cleanupSchedule')")]
    [InlineData("MaxBlobsPerMessage", "maxBlobsPerMessage", "string(parameters('maxBlobsPerMessage'))")]
    public void LifecycleSettingsDefaultToTheCodesDefaults(string property, string parameter, string value)
    {
        var setting = Assert.Single(AppSettings(), s => s.Name == "Tracker__Lifecycle__" + property);
        Assert.Equal(value, setting.Value);
        Assert.Null(setting.Condition);

        var module = Assert.Single(ResourcesIn(Template()), r => (string?)r["name"] == "functionapp");
        Assert.Equal($"[parameters('{parameter}')]", (string?)module["properties"]?["parameters"]?[parameter]?["value"]);
        var code = typeof(LifecycleOptions).GetProperty(property)!.GetValue(new LifecycleOptions());
        var template = Template()["parameters"]?[parameter]?["defaultValue"];
        Assert.NotNull(template);
        Assert.Equal(Convert.ToString(code, CultureInfo.InvariantCulture), template!.ToString());
    }

    // The backstop: blobs the tiering worker tagged tracker-archived = true go Cool after the same number of days, in
    // the artifacts container only.
    [Fact]
    public void ArchivedFilesHaveALifecycleRuleToCool()
    {
        var policy = Assert.Single(ResourcesOfType("Microsoft.Storage/storageAccounts/managementPolicies"));
        var rule = Assert.Single(policy["properties"]!["policy"]!["rules"]!.AsArray(), r => (string?)r!["name"] == "archived-versions-to-cool")!;
        Assert.True((bool?)rule["enabled"]);
        var filters = rule["definition"]!["filters"]!;
        var match = Assert.Single(filters["blobIndexMatch"]!.AsArray())!;
        Assert.Equal(VersionTiering.ArchivedBlobTag, (string?)match["name"]);
        Assert.Equal("==", (string?)match["op"]);
        Assert.Equal("true", (string?)match["value"]);
        Assert.Equal(["blockBlob"], filters["blobTypes"]!.AsArray().Select(t => (string?)t));
        Assert.Equal("[format('{0}/', parameters('artifactsContainerName'))]", (string?)Assert.Single(filters["prefixMatch"]!.AsArray()));
        var action = rule["definition"]!["actions"]!["baseBlob"]!.AsObject();
        Assert.Equal(["tierToCool"], action.Select(a => a.Key));
        Assert.Equal("[parameters('archivedCoolAfterDays')]", (string?)action["tierToCool"]!["daysAfterModificationGreaterThan"]);

        var storage = Assert.Single(ResourcesIn(Template()), r => (string?)r["name"] == "storage");
        Assert.Equal("[parameters('archivedCoolAfterDays')]", (string?)storage["properties"]?["parameters"]?["archivedCoolAfterDays"]?["value"]);
    }
}
