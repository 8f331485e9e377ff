namespace Tracker.Core.Registry;

/// <summary>
/// The one spelling of a registered model name (security baseline case 14): names that could display like another
/// ("foo" / "foo ", NFC / NFD, zero-width characters) are refused with 400, never stored as a second model. The
/// character rules are <see cref="UnambiguousNames"/>'s, shared with user names. Beyond that, MLflow's SQL store
/// checks only that the name is present (validation.py <c>_validate_model_name</c> / <c>_validate_model_renaming</c>):
/// '/' and ':' are accepted as MLflow accepts them (only its file store refuses path separators and '%').
/// </summary>
public static class RegistryNames
{
    /// <summary>MLflow's registered_models.name column is String(256).</summary>
    public const int MaxLength = 256;

    /// <summary>The name as stored, or 400 INVALID_PARAMETER_VALUE. <paramref name="parameter"/> names the request
    /// field in the missing-value message ("new_name" for a rename, as MLflow's).</summary>
    public static string Canonical(string? name, string parameter = "name")
    {
        if (string.IsNullOrEmpty(name)) throw MlflowException.MissingParameter(parameter);
        if (name.Length > MaxLength) throw Invalid(name, $"it is longer than {MaxLength} characters");
        if (UnambiguousNames.WhyAmbiguous(name) is { } why) throw Invalid(name, why);
        return name;
    }

    /// <summary>The canonical name, or null for a name no model can have (a lookup by it finds nothing).</summary>
    public static string? TryCanonical(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && UnambiguousNames.WhyAmbiguous(name) is null ? name : null;

    private static MlflowException Invalid(string name, string why) =>
        MlflowException.InvalidParameter($"Invalid registered model name '{Echo.Truncate(name)}': {why}.");
}
