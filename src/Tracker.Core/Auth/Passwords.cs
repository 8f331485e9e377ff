using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tracker.Core.Auth;

/// <summary>
/// Password rules and hashing. Stored as <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;salt&gt;$&lt;hash&gt;</c> (base64): PBKDF2 with
/// HMAC-SHA256 and a random 16-byte salt per hash, as MLflow's own auth store (password.py, 600,000 iterations, OWASP's
/// figure for PBKDF2-SHA256). The count is stored with each hash so it can be raised later without locking anyone out.
/// The cost is paid once per sign-in per instance, not per request: <see cref="CredentialVerifier"/> caches successes.
/// </summary>
public static class Passwords
{
    public const int Iterations = 600_000;
    /// <summary>MLflow's rule (mlflow/utils/validation.py <c>_validate_password</c>): fewer than 12 characters is refused.</summary>
    public const int MinLength = 12;
    /// <summary>Bounds the work one request can ask PBKDF2 to do.</summary>
    public const int MaxLength = 1024;
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>
    /// MLflow's rule (at least 12 characters, counted as Python counts: code points), plus two of Tracker's: a bound on
    /// length, and no <c>trk_</c> prefix, since HTTP Basic treats such a password as a Tracker token.
    /// </summary>
    public static void Validate(string? password)
    {
        if (password is null || password.EnumerateRunes().Count() < MinLength)
            throw MlflowException.InvalidParameter($"Password must be a string of at least {MinLength} characters.");
        if (password.Length > MaxLength)
            throw MlflowException.InvalidParameter($"Password must be at most {MaxLength} characters.");
        if (password.StartsWith(TrackerToken.Prefix, StringComparison.Ordinal))
            throw MlflowException.InvalidParameter($"Password must not start with '{TrackerToken.Prefix}', the prefix of Tracker tokens.");
    }

    public static string Hash(string password, int iterations = Iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    public static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1) return false;
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        if (expected.Length == 0 || password.Length > MaxLength) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
