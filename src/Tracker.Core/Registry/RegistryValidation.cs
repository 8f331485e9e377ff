using System.Globalization;
using System.Text.RegularExpressions;
using Tracker.Core.Tracking;

namespace Tracker.Core.Registry;

/// <summary>
/// MLflow's checks on registry requests (mlflow/utils/validation.py, mlflow/server/handlers.py), with its messages, so a
/// client sees the same errors as against MLflow's own server. Applied by the endpoints before the store is called.
/// </summary>
public static partial class RegistryValidation
{
    public const int MaxTagKeyLength = 250;
    public const int MaxTagValueLength = 100_000;
    public const int MaxAliasLength = 255;
    public const int MaxRegisteredModelsPerPage = 1000;
    public const int DefaultRegisteredModelsPerPage = 100;
    public const int MaxModelVersionsPerPage = 200_000;

    [GeneratedRegex(@"^[\w\-]*$")]
    private static partial Regex AliasCharset();

    [GeneratedRegex(@"^[vV]\d+$")]
    private static partial Regex VersionAlias();

    [GeneratedRegex("%[0-9A-Fa-f]{2}")]
    private static partial Regex PercentEscape();

    /// <summary>
    /// A name for a new model (create, rename): its canonical form (<see cref="RegistryNames"/>), and no percent-escape,
    /// which a URL, the web UI's routes and MLflow's file store read as another name (<c>fo%6F</c> is <c>foo</c>;
    /// CVE-2024-3099). MLflow's SQL store accepts such names; Tracker refuses them, so no two models can be reached as
    /// one. Existing names are only looked up, never refused here.
    /// </summary>
    public static string NewModelName(string? name, string parameter = "name")
    {
        var canonical = RegistryNames.Canonical(name, parameter);
        if (PercentEscape().Match(canonical) is { Success: true } escape)
            throw MlflowException.InvalidParameter(
                $"Invalid registered model name '{Echo.Truncate(canonical)}': it has the percent-escape '{escape.Value}', which a URL reads as another name.");
        return canonical;
    }

    /// <summary>A version number as the wire sends it (a string): MLflow's <c>_validate_model_version</c>.</summary>
    public static long Version(string? version)
    {
        if (string.IsNullOrEmpty(version)) throw MlflowException.MissingParameter("version");
        return long.TryParse(version, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw MlflowException.InvalidParameter($"Parameter 'version' must be an integer, got '{Echo.Truncate(version)}'.");
    }

    /// <summary>Registered-model tags (<c>_validate_registered_model_tag</c>).</summary>
    public static void ModelTag(string key, string? value) => Tag(key, value);

    /// <summary>Model-version tags (<c>_validate_model_version_tag</c>): the value must be present too.</summary>
    public static void VersionTag(string key, string? value)
    {
        if (value is null) throw MlflowException.MissingParameter("value");
        Tag(key, value);
    }

    private static void Tag(string key, string? value)
    {
        Validation.TagName(key);
        Validation.LengthLimit("key", MaxTagKeyLength, key);
        if (value is not null) Validation.LengthLimit("value", MaxTagValueLength, value);
    }

    /// <summary>MLflow's <c>_validate_model_alias_name</c>, plus its reserved names.</summary>
    public static void Alias(string? alias)
    {
        if (string.IsNullOrEmpty(alias)) throw MlflowException.InvalidParameter("Registered model alias name cannot be empty.");
        if (!AliasCharset().IsMatch(alias))
            throw MlflowException.InvalidParameter(
                $"Invalid alias name: '{Echo.Truncate(alias)}'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
        Validation.LengthLimit("Registered model alias name", MaxAliasLength, alias);
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
            throw MlflowException.InvalidParameter("'latest' alias name (case insensitive) is reserved.");
        if (VersionAlias().IsMatch(alias))
            throw MlflowException.InvalidParameter($"Version alias name '{alias}' is reserved.");
    }

    /// <summary><c>registered-models/search</c>: 1..1000, default 100.</summary>
    public static int RegisteredModelsPerPage(int? maxResults) => PerPage(maxResults ?? DefaultRegisteredModelsPerPage, MaxRegisteredModelsPerPage);

    /// <summary><c>model-versions/search</c>: 1..200000; the proto's default is the maximum.</summary>
    public static int ModelVersionsPerPage(int? maxResults) => PerPage(maxResults ?? MaxModelVersionsPerPage, MaxModelVersionsPerPage);

    private static int PerPage(int maxResults, int threshold)
    {
        if (maxResults < 1)
            throw MlflowException.InvalidParameter($"Invalid value for max_results. It must be a positive integer, but got {maxResults}");
        if (maxResults > threshold)
            throw MlflowException.InvalidParameter(
                $"Invalid value for request parameter max_results. It must be at most {threshold}, but got value {maxResults}");
        return maxResults;
    }

    /// <summary>
    /// <c>archive_existing_versions</c> only moves versions out of Staging or Production; MLflow answers a 500 for the
    /// other stages, which the client retries, so Tracker answers 400 with MLflow's message.
    /// </summary>
    public static void ArchiveExisting(string stage, bool archiveExistingVersions)
    {
        if (archiveExistingVersions && stage is not (ModelStages.Staging or ModelStages.Production))
            throw MlflowException.InvalidParameter(
                $"Model version transition cannot archive existing model versions because '{stage}' is not an Active stage. " +
                "Valid stages are ['Staging', 'Production']");
    }
}
