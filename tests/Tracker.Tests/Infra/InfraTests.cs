using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tracker.Tests.Infra;

/// <summary>
/// Static checks of the azd/Bicep infrastructure: it compiles and lints clean with the pinned Bicep CLI, the
/// compiled ARM template keeps the security baseline (identity-only storage, HTTPS, custom runtime on Flex, no
/// keys), modules are local, and azure.yaml points azd at the custom-handler project.
/// </summary>
public partial class InfraTests(BicepBuildFixture fixture) : IClassFixture<BicepBuildFixture>
{
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    private static readonly string[] RequiredAppSettings =
    [
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        Tracker.Functions.Telemetry.TelemetryOptions.AzureMonitorSetting, // the app exports to Azure Monitor only when set
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "Tracker__Storage__TableServiceUri",
        "Tracker__Storage__BlobServiceUri",
        "Tracker__Storage__QueueServiceUri",
        "Tracker__Storage__ClientId",
        "Tracker__Storage__ArtifactsContainer",
        "Tracker__Http__AllowedHosts__0",
        "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
    ];

    // Deprecated on Flex Consumption, or a shared-key path into storage.
    private static readonly string[] ForbiddenAppSettings =
    [
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
        "AzureWebJobsStorage",
        "APPINSIGHTS_INSTRUMENTATIONKEY",
    ];

    private static readonly string[] RequiredOutputs =
    [
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "SERVICE_API_URI",
    ];

    public static TheoryData<string> BicepFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(BicepCli.InfraDirectory, "*.bicep", SearchOption.AllDirectories).Order())
        {
            data.Add(Path.GetRelativePath(BicepCli.RepoRoot, file).Replace('\\', '/'));
        }
        return data;
    }

    [Fact]
    public void BuildSucceedsAndEmitsJson()
    {
        Assert.True(fixture.Build.ExitCode == 0, fixture.Build.ToString());
        Assert.Empty(BicepCli.WarningsAndErrors(fixture.Build));
        var template = JsonNode.Parse(fixture.Build.StandardOutput);
        Assert.EndsWith("DeploymentTemplate.json#", (string?)template?["$schema"], StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public async Task LintIsClean(string relativePath)
    {
        var run = await BicepCli.RunAsync("lint", Path.Combine(BicepCli.RepoRoot, relativePath));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Empty(BicepCli.WarningsAndErrors(run));
    }

    // Proves the diagnostic filter used above recognises a real linter warning, so a clean lint means something.
    [Fact]
    public async Task LintWarningsAreDetected()
    {
        var directory = Directory.CreateTempSubdirectory("tracker-bicep-");
        try
        {
            var file = Path.Combine(directory.FullName, "unused.bicep");
            await File.WriteAllTextAsync(file, "param unused string\n");

            var run = await BicepCli.RunAsync("lint", file);

            Assert.Contains(BicepCli.WarningsAndErrors(run), line => line.Contains("no-unused-params", StringComparison.Ordinal));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void StorageAccountIsIdentityOnlyAndTls12()
    {
        var storage = Assert.Single(ResourcesOfType("Microsoft.Storage/storageAccounts"));
        var properties = storage["properties"]!;

        Assert.False(properties["allowSharedKeyAccess"]!.GetValue<bool>());
        Assert.False(properties["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.True(properties["supportsHttpsTrafficOnly"]!.GetValue<bool>());
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.Equal("StorageV2", (string?)storage["kind"]);
    }

    [Fact]
    public void FunctionAppIsFlexCustomHandlerOverHttpsOnly()
    {
        var plan = Assert.Single(ResourcesOfType("Microsoft.Web/serverfarms"));
        Assert.Equal("FC1", (string?)plan["sku"]?["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]?["tier"]);

        var app = FunctionApp();
        var properties = app["properties"]!;
        Assert.Equal("functionapp,linux", (string?)app["kind"]);
        Assert.True(properties["httpsOnly"]!.GetValue<bool>());
        Assert.Equal("custom", (string?)properties["functionAppConfig"]?["runtime"]?["name"]);
        Assert.Equal("1.0", (string?)properties["functionAppConfig"]?["runtime"]?["version"]);
        Assert.Equal("UserAssigned", (string?)app["identity"]?["type"]);
        Assert.Equal(
            "UserAssignedIdentity",
            (string?)properties["functionAppConfig"]?["deployment"]?["storage"]?["authentication"]?["type"]);

        var siteConfig = properties["siteConfig"]!;
        Assert.Equal("1.2", (string?)siteConfig["minTlsVersion"]);
        Assert.Equal("Disabled", (string?)siteConfig["ftpsState"]);
        Assert.Null(siteConfig["cors"]);
        Assert.Null(siteConfig["connectionStrings"]);
    }

    [Fact]
    public void FunctionAppIsTaggedForAzd()
    {
        var tags = FunctionApp()["tags"];

        // union(tags, {...}) compiles to an expression string; a literal object would be a JSON object.
        if (tags is JsonObject literal)
        {
            Assert.Equal("api", (string?)literal["azd-service-name"]);
        }
        else
        {
            Assert.Matches(@"'azd-service-name',\s*'api'", (string?)tags);
        }
    }

    [Fact]
    public void AlwaysReadyIsOffByDefault()
    {
        var main = Template();
        Assert.Equal(0, main["parameters"]?["alwaysReadyInstanceCount"]?["defaultValue"]?.GetValue<int>());

        Assert.Equal(0, FunctionAppModule()["parameters"]?["alwaysReadyInstanceCount"]?["defaultValue"]?.GetValue<int>());
    }

    [Fact]
    public void AppSettingsAreIdentityBasedAndFlexCompatible()
    {
        var settings = AppSettings();
        var names = settings.Select(s => (string?)s["name"]).ToList();

        foreach (var required in RequiredAppSettings)
        {
            Assert.Contains(required, names);
        }
        foreach (var forbidden in ForbiddenAppSettings)
        {
            Assert.DoesNotContain(names, name => string.Equals(name, forbidden, StringComparison.OrdinalIgnoreCase));
        }
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());

        var app = FunctionAppModule();
        var byName = settings.ToDictionary(s => (string)s["name"]!, s => ExpandVariables(Text(s["value"]), app));
        Assert.Contains("managedidentity", byName["AzureWebJobsStorage__credential"]);
        Assert.Contains("Authorization=AAD", byName["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        // The host signs in with this identity, the app's exporter with Tracker's storage identity: they must be one.
        Assert.Contains(byName["Tracker__Storage__ClientId"].TrimStart('[').TrimEnd(']'), byName["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        Assert.Contains("azurewebsites.net", byName["Tracker__Http__AllowedHosts__0"]);
        // MLflow's client sends an artifact as one PUT: the host's 100 MB default would refuse a checkpoint.
        Assert.True(long.Parse(byName["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"], System.Globalization.CultureInfo.InvariantCulture) >= 1L << 30);
        foreach (var (name, value) in byName)
        {
            Assert.False(value.Contains("AccountKey", StringComparison.OrdinalIgnoreCase), $"{name} carries an account key");
            Assert.False(value.Contains("listKeys", StringComparison.OrdinalIgnoreCase), $"{name} reads account keys");
        }
    }

    // Names flow from main.bicep variables into the storage and functionapp modules; the app and host.json use them.
    [Fact]
    public void ContainersAndQueueAreNamedAsTheAppExpects()
    {
        var variables = Template()["variables"];

        Assert.Equal("deployments", (string?)variables?["deploymentContainerName"]);
        Assert.Equal("artifacts", (string?)variables?["artifactsContainerName"]);
        Assert.Equal("model-promotions", (string?)variables?["promotionQueueName"]);
    }

    [Fact]
    public void NoKeysAnywhereInTheTemplate()
    {
        var json = Template().ToJsonString();

        Assert.DoesNotContain("listKeys(", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey=", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("listConnectionStrings(", json, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AppIdentityHoldsStorageAndMonitoringRoles()
    {
        // The app's assignments are unconditional; the optional deploying-user ones carry a condition.
        var unconditional = AllResources()
            .Where(x => (string?)x.Resource["type"] == "Microsoft.Authorization/roleAssignments" && x.Resource["condition"] is null)
            .SelectMany(x => Guids(ExpandVariables(Text(x.Resource["properties"]?["roleDefinitionId"]), x.Template)))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

        Assert.Contains(StorageBlobDataOwner, unconditional);
        Assert.Contains(StorageQueueDataContributor, unconditional);
        Assert.Contains(StorageTableDataContributor, unconditional);
        Assert.Contains(MonitoringMetricsPublisher, unconditional);
    }

    [Fact]
    public void RoleAssignmentNamesAreDeterministicGuids()
    {
        var assignments = AllResources().Where(x => (string?)x.Resource["type"] == "Microsoft.Authorization/roleAssignments").ToList();

        Assert.NotEmpty(assignments);
        Assert.All(assignments, x => Assert.StartsWith("[guid(", (string?)x.Resource["name"]));
    }

    [Fact]
    public void ApplicationInsightsRequiresEntraAuth()
    {
        var component = Assert.Single(ResourcesOfType("Microsoft.Insights/components"));

        Assert.True(component["properties"]?["DisableLocalAuth"]?.GetValue<bool>());
    }

    [Fact]
    public void OutputsAreWhatAzdAndUsersNeed()
    {
        var outputs = Template()["outputs"] as JsonObject;

        Assert.NotNull(outputs);
        foreach (var output in RequiredOutputs)
        {
            Assert.True(outputs.ContainsKey(output), $"missing output {output}");
        }
        Assert.All(outputs, o => Assert.Matches("^[A-Z][A-Z0-9_]*$", o.Key));
        Assert.Contains("outputs.uri", (string?)outputs["SERVICE_API_URI"]?["value"]);
        Assert.StartsWith("[format('https://{0}'", (string?)FunctionAppModule()["outputs"]?["uri"]?["value"]);
    }

    [Fact]
    public void ParametersFileMatchesMainTemplate()
    {
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json")))?["parameters"] as JsonObject;
        var declared = Template()["parameters"] as JsonObject;

        Assert.NotNull(parameters);
        Assert.NotNull(declared);
        Assert.Equal("${AZURE_ENV_NAME}", (string?)parameters["environmentName"]?["value"]);
        Assert.Equal("${AZURE_LOCATION}", (string?)parameters["location"]?["value"]);
        Assert.All(parameters, p => Assert.True(declared.ContainsKey(p.Key), $"main.bicep has no parameter {p.Key}"));
    }

    [Fact]
    public void ModulesAreLocalFilesOnly()
    {
        var files = Directory.EnumerateFiles(BicepCli.InfraDirectory, "*.bicep", SearchOption.AllDirectories).ToList();
        var modules = 0;

        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            Assert.False(RegistryReference().IsMatch(text), $"{file} references a registry module");
            foreach (Match module in ModuleDeclaration().Matches(text))
            {
                modules++;
                var path = module.Groups["path"].Value;
                Assert.True(path.StartsWith("./", StringComparison.Ordinal) || path.StartsWith("../", StringComparison.Ordinal), $"{file}: module path {path} is not relative");
                Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(file)!, path)), $"{file}: module {path} does not exist");
            }
        }

        Assert.True(modules > 0, "main.bicep declares no modules");
        var config = Path.Combine(BicepCli.InfraDirectory, "bicepconfig.json");
        Assert.False(File.Exists(config) && File.ReadAllText(config).Contains("moduleAliases", StringComparison.Ordinal), "bicepconfig.json defines registry aliases");
    }

    [Fact]
    public void AzureYamlDeclaresTheFunctionService()
    {
        var lines = File.ReadAllLines(Path.Combine(BicepCli.RepoRoot, "azure.yaml"))
            .Where(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'))
            .ToList();

        Assert.Contains("name: tracker", lines);
        var services = lines.FindIndex(line => line == "services:");
        Assert.True(services >= 0, "azure.yaml has no services section");
        var api = lines.FindIndex(services, line => line.TrimEnd() == "  api:");
        Assert.True(api > services, "azure.yaml has no api service");

        // The api block is every following line indented deeper than "  api:".
        var block = lines.Skip(api + 1)
            .TakeWhile(line => line.StartsWith("    ", StringComparison.Ordinal))
            .Select(line => line.Trim())
            .ToList();
        Assert.Contains("project: ./src/Tracker.Functions", block);
        Assert.Contains("language: dotnet", block);
        Assert.Contains("host: function", block);
        Assert.True(File.Exists(Path.Combine(BicepCli.RepoRoot, "src", "Tracker.Functions", "Tracker.Functions.csproj")));
    }

    private JsonObject Template() =>
        fixture.Template ?? throw new InvalidOperationException($"bicep build failed: {fixture.Build}");

    private JsonObject FunctionAppModule() =>
        Assert.Single(NestedTemplates(Template()), t => ResourcesIn(t).Any(r => (string?)r["type"] == "Microsoft.Web/sites"));

    private JsonObject FunctionApp() => Assert.Single(ResourcesOfType("Microsoft.Web/sites"));

    private List<JsonObject> AppSettings() =>
        (FunctionApp()["properties"]?["siteConfig"]?["appSettings"] as JsonArray ?? throw new InvalidOperationException("no siteConfig.appSettings"))
            .OfType<JsonObject>()
            .ToList();

    private List<JsonObject> ResourcesOfType(string type) =>
        AllResources().Select(x => x.Resource).Where(r => (string?)r["type"] == type && r["existing"] is null).ToList();

    private IEnumerable<(JsonObject Template, JsonObject Resource)> AllResources() => Walk(Template());

    private static IEnumerable<(JsonObject Template, JsonObject Resource)> Walk(JsonObject template)
    {
        foreach (var resource in ResourcesIn(template))
        {
            yield return (template, resource);
            if (resource["properties"]?["template"] is JsonObject nested)
            {
                foreach (var inner in Walk(nested))
                {
                    yield return inner;
                }
            }
        }
    }

    private static IEnumerable<JsonObject> NestedTemplates(JsonObject template) =>
        ResourcesIn(template).Select(r => r["properties"]?["template"]).OfType<JsonObject>();

    // languageVersion 2.0 templates keep resources in an object keyed by symbolic name; 1.0 uses an array.
    private static IEnumerable<JsonObject> ResourcesIn(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject map => map.Select(kv => kv.Value).OfType<JsonObject>(),
        _ => [],
    };

    // Replaces variables('x') with the variable's JSON, recursively, so role GUIDs held in variables become visible.
    private static string ExpandVariables(string expression, JsonObject template, int depth = 0) =>
        depth > 5
            ? expression
            : VariableReference().Replace(expression, match =>
                template["variables"]?[match.Groups["name"].Value] is { } value
                    ? ExpandVariables(Text(value), template, depth + 1)
                    : match.Value);

    // A string node as its raw text, anything else as JSON without escaping the quotes ARM expressions use.
    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.TryGetValue(out string? text) => text,
        _ => node.ToJsonString(RelaxedJson),
    };

    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static IEnumerable<string> Guids(string text) => Guid().Matches(text).Select(m => m.Value);

    [GeneratedRegex(@"variables\('(?<name>[^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", RegexOptions.IgnoreCase)]
    private static partial Regex Guid();

    [GeneratedRegex(@"['""](br|ts)[:/]")]
    private static partial Regex RegistryReference();

    [GeneratedRegex(@"^\s*module\s+\w+\s+'(?<path>[^']+)'", RegexOptions.Multiline)]
    private static partial Regex ModuleDeclaration();
}
