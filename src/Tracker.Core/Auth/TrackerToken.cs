using System.Buffers.Text;
using System.Security.Cryptography;

namespace Tracker.Core.Auth;

/// <summary>
/// The text of a Tracker token: <c>trk_&lt;id&gt;_&lt;secret&gt;</c>. The id (16 lowercase base-36 characters) is public:
/// it names the stored row, so verifying is one point read, and it is what lists and revocations show. The secret is 32
/// random bytes in unpadded base64url (43 characters); only its keyed hash is stored. The prefix lets secret scanners and
/// people recognise a leaked token, and lets HTTP Basic tell a token from a password.
/// </summary>
public static class TrackerToken
{
    public const string Prefix = "trk_";
    private const int IdLength = 16;
    private const int SecretBytes = 32;
    private const int SecretChars = 43;
    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public static (string Id, byte[] Secret, string Text) New()
    {
        var id = RandomNumberGenerator.GetString(IdAlphabet, IdLength);
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        return (id, secret, $"{Prefix}{id}_{Base64Url.EncodeToString(secret)}");
    }

    /// <summary>Strict: exactly the shape <see cref="New"/> makes, so one token has one spelling.</summary>
    public static bool TryParse(string? text, out string id, out byte[] secret)
    {
        id = "";
        secret = [];
        if (text is null || text.Length != Prefix.Length + IdLength + 1 + SecretChars || !text.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var idPart = text.AsSpan(Prefix.Length, IdLength);
        if (idPart.ContainsAnyExcept(IdAlphabet) || text[Prefix.Length + IdLength] != '_') return false;
        var secretPart = text.AsSpan(Prefix.Length + IdLength + 1);
        var bytes = new byte[SecretBytes];
        if (!Base64Url.IsValid(secretPart) || Base64Url.DecodeFromChars(secretPart, bytes) != SecretBytes) return false;
        // 43 characters carry 258 bits: a non-zero tail in the last character would be a second spelling of the secret.
        if (!secretPart.SequenceEqual(Base64Url.EncodeToString(bytes))) return false;
        id = idPart.ToString();
        secret = bytes;
        return true;
    }
}
