using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tracker.Tests.Infra;

/// <summary>
/// Static checks of the azd/Bicep infrastructure: it compiles and lints clean with the pinned Bicep CLI, the
/// compiled ARM template keeps the security baseline (identity-only storage, HTTPS, custom runtime on Flex, no
/// keys) and carries nothing Flex Consumption refuses, modules are local, and azure.yaml has azd deploy the packaged
/// zip of the custom-handler project.
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
        "Tracker__Storage__SearchSnapshotsContainer",
        "Tracker__Http__AllowedHosts__0",
        "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
        // Only when an Entra tenant is given (EntraSettingsExistOnlyWhenATenantIsGiven).
        "Tracker__Auth__Entra__TenantId",
        "Tracker__Auth__Entra__Audiences__0",
        // Only when the UI's client id is given (UiClientIdSettingExistsOnlyWhenGiven).
        "Tracker__Ui__EntraClientId",
    ];

    // Deprecated on Flex Consumption (the app settings of Microsoft's "Flex Consumption plan deprecations" table in the
    // Functions app settings reference), or a shared-key path into storage.
    private static readonly string[] ForbiddenAppSettings =
    [
        "ENABLE_ORYX_BUILD",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_PROCESS_COUNT",
        "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTOVERVNET",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_DNS_SERVER",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "WEBSITE_VNET_ROUTE_ALL",
        "AzureWebJobsStorage",
        "APPINSIGHTS_INSTRUMENTATIONKEY",
    ];

    // The site properties of the same table. ARM refuses a Flex Consumption site that carries any of them (400: "The
    // following site configuration properties (Site.SiteConfig.FtpsState, ...) for Flex Consumption sites is invalid"),
    // whether under properties or properties.siteConfig. The table spells two of them as the SDK does (isReserved,
    // IsXenon); the ARM names are checked too.
    private static readonly string[] FlexRejectedSiteProperties =
    [
        "alwaysOn",
        "containerSize",
        "dnsConfiguration",
        "ftpsState",
        "isReserved",
        "reserved",
        "isXenon",
        "javaVersion",
        "linuxFxVersion",
        "netFrameworkVersion",
        "powerShellVersion",
        "functionAppScaleLimit",
        "preWarmedInstanceCount",
        "use32BitWorkerProcess",
        "vnetBackupRestoreEnabled",
        "vnetContentShareEnabled",
        "vnetImagePullEnabled",
        "vnetRouteAllEnabled",
        "windowsFxVersion",
    ];

    // Microsoft's Flex Consumption azd quickstart (Azure-Samples/functions-quickstart-dotnet-azd, infra/main.bicep)
    // restricts location to these; every one of them must stay allowed here.
    private static readonly string[] QuickstartFlexRegions =
    [
        "australiaeast", "centralindia", "centralus", "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral",
        "northcentralus", "northeurope", "southcentralus", "southeastasia", "swedencentral", "uksouth", "westcentralus",
        "westeurope", "westus2",
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
        Assert.Null(siteConfig["cors"]);
        Assert.Null(siteConfig["connectionStrings"]);
    }

    [Fact]
    public void FunctionAppSetsNoSitePropertyFlexConsumptionRejects()
    {
        var properties = Assert.IsType<JsonObject>(FunctionApp()["properties"]);
        var siteConfig = Assert.IsType<JsonObject>(properties["siteConfig"]);

        var offending = properties.Select(p => $"properties.{p.Key}")
            .Concat(siteConfig.Select(p => $"properties.siteConfig.{p.Key}"))
            .Where(path => FlexRejectedSiteProperties.Any(name => path.EndsWith("." + name, StringComparison.OrdinalIgnoreCase)))
            .ToList();

        Assert.True(offending.Count == 0, $"Flex Consumption rejects: {string.Join(", ", offending)}");
    }

    // FTP stays off without siteConfig.ftpsState: the FTP publishing-credentials policy refuses basic auth.
    [Fact]
    public void FtpAndScmBasicAuthAreOff()
    {
        var policies = ResourcesOfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies");

        foreach (var name in (string[])["ftp", "scm"])
        {
            var policy = Assert.Single(policies, p => ((string?)p["name"])?.Contains($"'{name}'", StringComparison.Ordinal) == true
                || ((string?)p["name"])?.EndsWith("/" + name, StringComparison.Ordinal) == true);
            Assert.False(policy["properties"]?["allow"]?.GetValue<bool>());
        }
    }

    [Fact]
    public void LocationIsRestrictedToFlexConsumptionRegions()
    {
        var allowed = (Template()["parameters"]?["location"]?["allowedValues"] as JsonArray)?
            .Select(value => (string?)value)
            .ToList();

        Assert.NotNull(allowed);
        Assert.All(allowed, region => Assert.Matches("^[a-z0-9]+$", region));
        foreach (var region in QuickstartFlexRegions)
        {
            Assert.Contains(region, allowed);
        }
        // Early-access (EUAP) and staging regions take no ordinary subscription.
        Assert.DoesNotContain(allowed, region => region!.EndsWith("euap", StringComparison.Ordinal) || region.Contains("stage", StringComparison.Ordinal));
        Assert.Equal(allowed.Count, allowed.Distinct().Count());
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
        var names = settings.Select(s => s.Name).ToList();

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
        var byName = settings.ToDictionary(s => s.Name, s => ExpandVariables(s.Value, app));
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

    // Entra sign-in turns on when the app sees a tenant id, so the settings must be absent (not empty-valued guesses)
    // unless the deployer gives a tenant; azd passes them from its environment.
    [Fact]
    public void EntraSettingsExistOnlyWhenATenantIsGiven()
    {
        var settings = AppSettings();
        var entra = settings.Where(s => s.Name.StartsWith("Tracker__Auth__Entra__", StringComparison.Ordinal)).ToList();

        Assert.Equal(["Tracker__Auth__Entra__TenantId", "Tracker__Auth__Entra__Audiences__0"], entra.Select(s => s.Name));
        Assert.All(entra, s => Assert.Equal("not(empty(parameters('entraTenantId')))", s.Condition));
        Assert.Equal("parameters('entraTenantId')", entra[0].Value);
        Assert.Contains("parameters('entraAudiences')", entra[1].Value);
        Assert.All(settings.Except(entra).Where(s => s.Name != "Tracker__Ui__EntraClientId"), s => Assert.Null(s.Condition));

        var main = Template();
        Assert.Equal("", (string?)main["parameters"]?["entraTenantId"]?["defaultValue"]);
        Assert.Equal("", (string?)main["parameters"]?["entraAudience"]?["defaultValue"]);
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json")))?["parameters"];
        Assert.Equal("${TRACKER_ENTRA_TENANT_ID=}", (string?)parameters?["entraTenantId"]?["value"]);
        Assert.Equal("${TRACKER_ENTRA_AUDIENCE=}", (string?)parameters?["entraAudience"]?["value"]);
    }

    // The UI's Entra sign-in (WebUiOptions.EntraClientId, the SPA registration's client id) comes from azd's
    // TRACKER_UI_CLIENT_ID, as the tenant does, and is absent rather than empty when not given.
    [Fact]
    public void UiClientIdSettingExistsOnlyWhenGiven()
    {
        var setting = Assert.Single(AppSettings(), s => s.Name.StartsWith("Tracker__Ui__", StringComparison.Ordinal));
        Assert.Equal("Tracker__Ui__" + nameof(Tracker.Functions.Endpoints.WebUiOptions.EntraClientId), setting.Name);
        Assert.Equal("not(empty(parameters('entraUiClientId')))", setting.Condition);
        Assert.Equal("parameters('entraUiClientId')", setting.Value);

        var main = Template();
        Assert.Equal("", (string?)main["parameters"]?["entraUiClientId"]?["defaultValue"]);
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json")))?["parameters"];
        Assert.Equal("${TRACKER_UI_CLIENT_ID=}", (string?)parameters?["entraUiClientId"]?["value"]);
    }

    // Webhook deliveries are configured in the template with the code's own defaults, and the loopback switch that only
    // tests may turn on is not a setting a deployment has.
    [Fact]
    public void WebhookSettingsCarryTheCodesDefaultsAndNoTestSwitch()
    {
        var settings = AppSettings().ToDictionary(s => s.Name, s => s.Value);
        var defaults = new Tracker.Core.Webhooks.WebhookOptions();
        Assert.Equal(defaults.MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture), settings["Tracker__Webhooks__MaxAttempts"]);
        Assert.Equal(defaults.RequestTimeout, TimeSpan.Parse(settings["Tracker__Webhooks__RequestTimeout"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain(settings.Keys, name => name.Contains("AllowLoopback", StringComparison.OrdinalIgnoreCase));
    }

    // Code and template agree: every Tracker__… app setting binds to a property of the options class of its section
    // (a renamed property would otherwise leave a setting that silently does nothing).
    [Fact]
    public void EveryTrackerAppSettingBindsToAnOptionsProperty()
    {
        var sections = OptionsSections();
        var tracker = AppSettings().Where(s => s.Name.StartsWith("Tracker__", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(tracker);
        foreach (var setting in tracker)
        {
            var key = setting.Name.Replace("__", ":", StringComparison.Ordinal);
            var section = sections.Keys.Where(s => key.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase)).MaxBy(s => s.Length);
            Assert.True(section is not null, $"{setting.Name}: no options class binds {key}");
            Assert.True(Binds(sections[section], key[(section.Length + 1)..].Split(':')), $"{setting.Name}: {sections[section].Name} has no such property");
        }
    }

    // Proves the check above can fail: a misspelt or removed property is caught, an array index is accepted.
    [Fact]
    public void BindingCheckRejectsUnknownProperties()
    {
        Assert.True(Binds(typeof(Tracker.Core.Auth.AuthOptions), ["Entra", "Audiences", "0"]));
        Assert.False(Binds(typeof(Tracker.Core.Auth.AuthOptions), ["Entra", "Audience", "0"]));
        Assert.False(Binds(typeof(Tracker.Core.Auth.AuthOptions), ["Entra", "TenantId", "0"]));
        Assert.False(Binds(typeof(Tracker.Core.Storage.StorageOptions), ["TableUri"]));
    }

    // No secret in plain text: Tracker's one secret is generated into storage, or given as a Key Vault reference.
    [Fact]
    public void NoSecretIsAPlainAppSetting()
    {
        foreach (var setting in AppSettings())
        {
            if (setting.Name.Contains("Password", StringComparison.OrdinalIgnoreCase) || setting.Name.Contains("Secret", StringComparison.OrdinalIgnoreCase)
                || setting.Name.EndsWith("ServerKey", StringComparison.OrdinalIgnoreCase) || setting.Name.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase)
                   && !setting.Name.StartsWith("APPLICATIONINSIGHTS_", StringComparison.Ordinal))
            {
                Assert.StartsWith("@Microsoft.KeyVault(", setting.Value);
            }
        }
    }

    private static Dictionary<string, Type> OptionsSections() =>
        new[] { typeof(Tracker.Core.Storage.StorageOptions).Assembly, typeof(Tracker.Functions.Http.HttpOptions).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("Section", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string))
            .ToDictionary(x => (string)x.Field!.GetRawConstantValue()!, x => x.Type, StringComparer.OrdinalIgnoreCase);

    // Walks configuration path segments the way the binder does: properties by name (any case), an index into arrays and lists.
    private static bool Binds(Type type, IEnumerable<string> path)
    {
        var current = type;
        var expectIndex = false;
        foreach (var segment in path)
        {
            if (expectIndex)
            {
                if (!int.TryParse(segment, out _)) return false;
                current = current.IsArray ? current.GetElementType()! : current.GetGenericArguments()[0];
                expectIndex = false;
                continue;
            }
            var property = current.GetProperty(segment, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (property is null || !property.CanWrite && property.PropertyType.IsValueType) return false;
            current = property.PropertyType;
            expectIndex = current != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(current);
        }
        return !expectIndex;
    }

    // Names flow from main.bicep variables into the storage and functionapp modules; the app and host.json use them.
    [Fact]
    public void ContainersAndQueueAreNamedAsTheAppExpects()
    {
        var variables = Template()["variables"];

        Assert.Equal("deployments", (string?)variables?["deploymentContainerName"]);
        Assert.Equal("artifacts", (string?)variables?["artifactsContainerName"]);
        Assert.Equal(new Tracker.Core.Storage.StorageOptions().SearchSnapshotsContainer, (string?)variables?["searchSnapshotsContainerName"]);
        Assert.Contains("model-promotions", variables!["queueNames"]!.AsArray().Select(q => (string?)q));
    }

    // The host polls the queue a function.json names and moves failures to <queue>-poison; the local poller does the
    // same for the queues in code. Every one of them must be provisioned, or a trigger listens on nothing.
    [Fact]
    public void EveryQueueNamedInCodeOrFunctionJsonIsProvisioned()
    {
        var provisioned = ProvisionedQueues();
        var inCode = Tracker.Functions.Triggers.QueueTrigger.All
            .SelectMany(t => t.Queue.EndsWith("-poison", StringComparison.Ordinal) ? [t.Queue] : new[] { t.Queue, Tracker.Functions.Triggers.QueueTrigger.PoisonQueueOf(t.Queue) });
        var inFunctionJson = Host.FunctionDefinition.LoadFrom(Tracker.Tests.Infrastructure.RepoPaths.FunctionsProject)
            .SelectMany(f => f.Bindings.Where(b => Host.FunctionDefinition.IsType(b, "queueTrigger")))
            .Select(b => Host.FunctionDefinition.Text(b, "queueName") ?? "(no queueName)")
            .ToList();
        Assert.NotEmpty(inFunctionJson);

        var missing = inCode.Concat(inFunctionJson).Distinct().Where(q => !provisioned.Contains(q)).ToList();
        Assert.True(missing.Count == 0, $"queues not in the template: {string.Join(", ", missing)} (provisioned: {string.Join(", ", provisioned)})");
    }

    // A timer's function.json names its schedule as %app setting% (the host resolves it like any %name% in a binding):
    // the setting must exist, or the host cannot index the function, and its default must be the six-field NCRONTAB
    // expression the app itself defaults to (local mode fires LifecycleOptions.CleanupSchedule).
    [Fact]
    public void EveryTimerScheduleSettingIsAnAppSettingWithASixFieldDefault()
    {
        var settings = AppSettings();
        var timers = Host.FunctionDefinition.LoadFrom(Tracker.Tests.Infrastructure.RepoPaths.FunctionsProject)
            .SelectMany(f => f.Bindings.Where(b => Host.FunctionDefinition.IsType(b, "timerTrigger")))
            .Select(b => Host.FunctionDefinition.Text(b, "schedule") ?? "")
            .ToList();
        Assert.NotEmpty(timers);
        foreach (var schedule in timers)
        {
            Assert.Matches("^%[A-Za-z0-9_]+%$", schedule);
            var name = schedule.Trim('%');
            var setting = settings.SingleOrDefault(s => s.Name == name);
            Assert.True(setting is not null, $"function.json's schedule names app setting {name}, which the template does not set");
            Assert.Null(setting.Condition);
            var value = DefaultOf(setting.Value);
            Assert.NotNull(Tracker.Core.Lifecycle.LifecycleOptions.ParseSchedule(value));
            Assert.Equal(Tracker.Core.Lifecycle.LifecycleOptions.DefaultSchedule, value);
        }
    }

    /// <summary>An app setting's value when the deployer overrides nothing: a literal, or the default of the module or
    /// main.bicep parameter it is passed from.</summary>
    private string DefaultOf(string value)
    {
        var parameter = System.Text.RegularExpressions.Regex.Match(value, @"^\[?parameters\('([^']+)'\)\]?$");
        if (!parameter.Success) return value;
        var name = parameter.Groups[1].Value;
        return PassedFromMain(name) ?? (string?)FunctionAppModule()["parameters"]?[name]?["defaultValue"] ?? value;
    }

    /// <summary>What main.bicep passes to the function app module's parameter <paramref name="name"/>, if anything.</summary>
    private string? PassedFromMain(string name)
    {
        var module = ResourcesOfType("Microsoft.Resources/deployments").SingleOrDefault(d => d["properties"]?["template"] is JsonObject t &&
            ResourcesIn(t).Any(r => (string?)r["type"] == "Microsoft.Web/sites"));
        var passed = (string?)module?["properties"]?["parameters"]?[name]?["value"];
        if (passed is null) return null;
        var mainParameter = System.Text.RegularExpressions.Regex.Match(passed, @"^\[parameters\('([^']+)'\)\]$");
        return mainParameter.Success ? (string?)Template()["parameters"]?[mainParameter.Groups[1].Value]?["defaultValue"] ?? passed : passed;
    }

    /// <summary>
    /// main.bicep's literal queueNames, once it is certain the storage module creates a queue per entry: the module
    /// gets that list and its queues resource loops over it.
    /// </summary>
    private List<string> ProvisionedQueues()
    {
        var queueLoop = Assert.Single(ResourcesOfType("Microsoft.Storage/storageAccounts/queueServices/queues"));
        Assert.Equal("[length(parameters('queueNames'))]", (string?)queueLoop["copy"]?["count"]);
        Assert.Contains("parameters('queueNames')[copyIndex()]", (string?)queueLoop["name"], StringComparison.Ordinal);
        var storageModule = Assert.Single(ResourcesOfType("Microsoft.Resources/deployments"), d => (string?)d["name"] == "storage");
        Assert.Equal("[variables('queueNames')]", (string?)storageModule["properties"]?["parameters"]?["queueNames"]?["value"]);
        return Template()["variables"]!["queueNames"]!.AsArray().Select(q => (string)q!).ToList();
    }

    // A proxied upload is staged below this prefix and deleted once copied; the lifecycle rule sweeps abandoned ones.
    [Fact]
    public void AbandonedUploadStagingBlobsAreDeletedByALifecycleRule()
    {
        var policy = Assert.Single(ResourcesOfType("Microsoft.Storage/storageAccounts/managementPolicies"));
        var rule = Assert.Single(policy["properties"]!["policy"]!["rules"]!.AsArray(), r => (string?)r!["name"] == "abandoned-artifact-uploads")!;
        Assert.True((bool?)rule["enabled"]);
        var prefixes = rule["definition"]!["filters"]!["prefixMatch"]!.AsArray().Select(p => (string?)p).ToList();
        // compiled as [format('{0}/uploads/', parameters('artifactsContainerName'))]
        Assert.Contains(prefixes, p => p is not null && p.Contains("artifactsContainerName", StringComparison.Ordinal)
            && p.Contains($"'{{0}}/{Tracker.Core.Artifacts.ArtifactStore.StagingPrefix}'", StringComparison.Ordinal));
        Assert.NotNull(rule["definition"]!["actions"]!["baseBlob"]!["delete"]!["daysAfterModificationGreaterThan"]);
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

    // azd deploys the zip scripts/package-api.mjs writes (language custom, dist a .zip: azd's function-app target uploads
    // a .zip as it is), so the handler's execute bit does not depend on the azd version or the OS azd runs on.
    [Fact]
    public void AzureYamlDeploysThePackagedZipWithAPinnedAzd()
    {
        var lines = File.ReadAllLines(Path.Combine(BicepCli.RepoRoot, "azure.yaml"))
            .Where(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'))
            .ToList();

        Assert.Contains("name: tracker", lines);
        var azd = Trimmed(Block(lines, "requiredVersions:")).SingleOrDefault(line => line.StartsWith("azd:", StringComparison.Ordinal));
        Assert.NotNull(azd);
        var minimum = Regex.Match(azd, @"^azd:\s*""?>=\s*(?<version>\d+\.\d+\.\d+)""?$");
        Assert.True(minimum.Success, $"azure.yaml pins no minimum azd version: {azd}");
        Assert.True(Version.Parse(minimum.Groups["version"].Value) >= new Version(1, 26, 0), azd);

        var api = Trimmed(Block(Block(lines, "services:"), "api:"));
        Assert.Contains("project: .", api);
        Assert.Contains("language: custom", api);
        Assert.Contains("host: function", api);
        Assert.Contains($"dist: {PackagedZip}", api);
        // One hook command for every shell azd may use (sh on Linux/macOS, pwsh on Windows).
        var runs = api.Where(line => line.StartsWith("run:", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, runs.Count);
        Assert.All(runs, run => Assert.Equal("run: node scripts/package-api.mjs", run));
        Assert.Contains("prepackage:", api);
        Assert.True(File.Exists(Path.Combine(BicepCli.RepoRoot, "scripts", "package-api.mjs")));
    }

    // `azd up` ends by printing the first admin token: azd runs the postprovision hook with its environment's values
    // (Bicep's outputs among them) as variables, and the hook's script runs the app's own admin command with them.
    [Fact]
    public async Task PostprovisionHookCreatesTheFirstAdminWithTheStorageSettingsTheAppReads()
    {
        var lines = File.ReadAllLines(Path.Combine(BicepCli.RepoRoot, "azure.yaml"))
            .Where(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'))
            .ToList();
        var hook = Trimmed(Block(Block(lines, "hooks:", topLevel: true), "postprovision:"));
        Assert.Equal(["run: node scripts/first-admin.mjs", "run: node scripts/first-admin.mjs"], hook.Where(l => l.StartsWith("run:", StringComparison.Ordinal)));
        Assert.Contains("shell: sh", hook);
        Assert.Contains("shell: pwsh", hook);
        // The token is printed once: it must reach the console, not azd's transient preview of hook output.
        Assert.Equal(2, hook.Count(l => l == "interactive: true"));

        // Every azd value the script reads is one Bicep outputs (or one azd sets itself).
        var script = File.ReadAllText(Path.Combine(BicepCli.RepoRoot, "scripts", "first-admin.mjs"));
        var outputs = (Template()["outputs"] as JsonObject)!;
        var read = EnvRead().Matches(script).Select(m => m.Groups["name"].Value).Distinct().ToList();
        Assert.Contains("AZURE_STORAGE_TABLE_ENDPOINT", read);
        Assert.All(read.Where(name => name.StartsWith("AZURE_", StringComparison.Ordinal) || name.StartsWith("SERVICE_", StringComparison.Ordinal)),
            name => Assert.True(outputs.ContainsKey(name), $"first-admin.mjs reads {name}, which main.bicep does not output"));

        var outputValues = read.Where(outputs.ContainsKey).ToDictionary(name => name, name => $"https://{name.ToLowerInvariant()}.example/");
        var (exitCode, stdout) = await RunNodeAsync(["scripts/first-admin.mjs", "--dry-run"], outputValues);
        Assert.True(exitCode == 0, stdout);
        var plan = JsonNode.Parse(stdout)!;
        var args = plan["args"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal("dotnet", (string?)plan["command"]);
        Assert.Equal(["admin", "create-token"], args.SkipWhile(a => a != "--").Skip(1).Take(2));
        Assert.Contains("--admin", args);
        var env = plan["env"]!.AsObject().ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        // What StorageOptions needs in Azure (service URIs; no connection string, no client id: the deployer signs in).
        Assert.Equal("https://azure_storage_table_endpoint.example/", env["Tracker__Storage__TableServiceUri"]);
        Assert.Equal("https://azure_storage_blob_endpoint.example/", env["Tracker__Storage__BlobServiceUri"]);
        Assert.Equal("", env["Tracker__Storage__ConnectionString"]);
        Assert.Equal("", env["Tracker__Storage__ClientId"]);
        Assert.All(env.Keys, key => Assert.True(Binds(typeof(Tracker.Core.Storage.StorageOptions), key.Split("__").Skip(2)), $"{key} binds to nothing"));
        // The same storage settings as the app's own (bar the identity): the hook writes where the app reads.
        var appStorage = AppSettings().Select(s => s.Name).Where(n => n.StartsWith("Tracker__Storage__", StringComparison.Ordinal)).ToHashSet();
        Assert.Subset(appStorage, env.Keys.Where(k => k != "Tracker__Storage__ConnectionString").ToHashSet());
    }

    // A second `azd up` must not mint another admin token: once one was printed the hook only says so. (It would fail
    // here otherwise: no storage endpoints are given, so creating a token is impossible and the script exits 1.)
    [Fact]
    public async Task PostprovisionHookSkipsOnceTheFirstAdminExists()
    {
        var (exitCode, output) = await RunNodeAsync(["scripts/first-admin.mjs"], new Dictionary<string, string> { ["TRACKER_FIRST_ADMIN_CREATED"] = "true" });
        Assert.True(exitCode == 0, output);
        Assert.Contains("not creating another", output);

        var (firstRun, why) = await RunNodeAsync(["scripts/first-admin.mjs"], new Dictionary<string, string>
        {
            ["TRACKER_FIRST_ADMIN_CREATED"] = "", ["AZURE_STORAGE_TABLE_ENDPOINT"] = "", ["AZURE_STORAGE_BLOB_ENDPOINT"] = "",
        });
        Assert.Equal(1, firstRun);
        Assert.Contains("no storage endpoints", why);
    }

    private static async Task<(int ExitCode, string Output)> RunNodeAsync(string[] arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = new System.Diagnostics.ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = BicepCli.RepoRoot,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, process.ExitCode == 0 ? await stdout : await stdout + await stderr);
    }

    [GeneratedRegex(@"env\.(?<name>[A-Z][A-Z0-9_]*)")]
    private static partial Regex EnvRead();

    private const string PackagedZip = "publish/azd/api.zip";

    // The lines after the first `header` line that are indented deeper than it: a YAML block, for a file too small to
    // need a YAML parser.
    private static List<string> Block(List<string> lines, string header, bool topLevel = false)
    {
        var start = lines.FindIndex(line => topLevel ? line == header : line.Trim() == header);
        Assert.True(start >= 0, $"azure.yaml has no {header}");
        var indent = lines[start].Length - lines[start].TrimStart().Length;
        return lines.Skip(start + 1)
            .TakeWhile(line => line.Length - line.TrimStart().Length > indent)
            .ToList();
    }

    private static List<string> Trimmed(List<string> lines) => lines.Select(line => line.Trim()).ToList();

    private JsonObject Template() =>
        fixture.Template ?? throw new InvalidOperationException($"bicep build failed: {fixture.Build}");

    private JsonObject FunctionAppModule() =>
        Assert.Single(NestedTemplates(Template()), t => ResourcesIn(t).Any(r => (string?)r["type"] == "Microsoft.Web/sites"));

    private JsonObject FunctionApp() => Assert.Single(ResourcesOfType("Microsoft.Web/sites"));

    private List<ArmAppSetting> AppSettings() =>
        ArmAppSettings.Read(FunctionApp()["properties"]?["siteConfig"]?["appSettings"] ?? throw new InvalidOperationException("no siteConfig.appSettings"), FunctionAppModule());

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
