namespace Tracker.Core.Registry;

/// <summary>
/// The one spelling of a registered model name (security baseline case 14): names that could display like another
/// ("foo" / "foo ", NFC / NFD, zero-width characters) are refused with 400, never stored as a second model.
/// CONTRACT STUB: only the empty-name check so far.
/// </summary>
public static class RegistryNames
{
    public static string Canonical(string? name) =>
        string.IsNullOrEmpty(name) ? throw MlflowException.MissingParameter("name") : name;
}
