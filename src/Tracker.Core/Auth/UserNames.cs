namespace Tracker.Core.Auth;

/// <summary>
/// The one spelling of a user name (security baseline case 14): no two users can look alike. The character rules are
/// <see cref="UnambiguousNames"/>'s, shared with registered-model names; names are otherwise kept exactly, case
/// included, as MLflow keeps them.
/// </summary>
public static class UserNames
{
    /// <summary>MLflow's users.username column is String(255).</summary>
    public const int MaxLength = 255;

    public static string Canonical(string? name)
    {
        if (string.IsNullOrEmpty(name)) throw MlflowException.InvalidParameter("Username cannot be empty.");
        if (name.Length > MaxLength) throw Invalid(name, $"it is longer than {MaxLength} characters");
        if (UnambiguousNames.WhyAmbiguous(name) is { } why) throw Invalid(name, why);
        return name;
    }

    private static MlflowException Invalid(string name, string why) =>
        MlflowException.InvalidParameter($"Invalid username '{Echo.Truncate(name)}': {why}.");
}
