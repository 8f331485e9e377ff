using System.Security.Cryptography;
using System.Text;
using Tracker.Core.Auth;

namespace Tracker.Core.Webhooks;

/// <summary>
/// Webhook secrets at rest. They cannot be hashed: every delivery signs with the secret itself (HMAC-SHA256, as MLflow
/// does), so they are encrypted with AES-256-GCM under a key derived from Tracker's one server secret
/// (<see cref="ServerKeys"/>, purpose <c>webhook-secret</c>; no key of its own to manage or rotate separately). The
/// webhook's id is the associated data, so a ciphertext copied onto another webhook's row does not decrypt.
/// Stored as base64 of nonce (12) | tag (16) | ciphertext.
/// </summary>
public sealed class WebhookSecrets(ServerKeys keys)
{
    public const string KeyPurpose = "webhook-secret";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    public async Task<string> EncryptAsync(string webhookId, string secret, CancellationToken ct)
    {
        var key = await keys.GetAsync(KeyPurpose, ct);
        var plain = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceBytes + TagBytes + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), Encoding.UTF8.GetBytes(webhookId));
        return Convert.ToBase64String(sealedBytes);
    }

    /// <summary>The secret, or an exception when the stored value was not sealed for this webhook under this server's key.</summary>
    public async Task<string> DecryptAsync(string webhookId, string stored, CancellationToken ct)
    {
        var key = await keys.GetAsync(KeyPurpose, ct);
        var sealedBytes = Convert.FromBase64String(stored);
        if (sealedBytes.Length < NonceBytes + TagBytes) throw new CryptographicException("The stored webhook secret is truncated.");
        var plain = new byte[sealedBytes.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), plain,
            Encoding.UTF8.GetBytes(webhookId));
        return Encoding.UTF8.GetString(plain);
    }
}
