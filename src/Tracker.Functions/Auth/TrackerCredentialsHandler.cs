using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Tracker.Core.Auth;

namespace Tracker.Functions.Auth;

/// <summary>
/// Tracker's own credentials, the two ways the MLflow client sends them: <c>Bearer &lt;token&gt;</c> from
/// MLFLOW_TRACKING_TOKEN, and <c>Basic</c> from MLFLOW_TRACKING_USERNAME/PASSWORD (the password a Tracker token or the
/// user's password). Function keys (<c>?code=</c>, <c>x-functions-key</c>) are never looked at: they are not identities.
/// </summary>
public sealed class TrackerCredentialsHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, CredentialVerifier verifier)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Tracker";

    /// <summary>What a 401 offers: MLflow's own Basic challenge (its client and browsers know it), and Bearer.</summary>
    public static readonly string[] Challenges = ["Basic realm=\"mlflow\"", "Bearer"];

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header) || header.Parameter is null)
            return AuthenticateResult.NoResult();
        SignInResult result;
        string? userName = null;
        if (header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            result = await verifier.VerifyTokenAsync(header.Parameter, Context.RequestAborted);
        else if (header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && TryDecodeBasic(header.Parameter, out userName, out var password))
            result = await verifier.VerifyBasicAsync(userName, password, Context.RequestAborted);
        else
            return AuthenticateResult.Fail(new SignInFailedException(SignInFailure.Malformed, null));

        if (!result.Succeeded) return AuthenticateResult.Fail(new SignInFailedException(result.Failure!.Value, userName ?? result.TokenId));
        var caller = new Caller(result.User!.UserName, result.User.IsAdmin);
        return AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName));
    }

    private static bool TryDecodeBasic(string parameter, out string userName, out string password)
    {
        userName = password = "";
        var bytes = new byte[parameter.Length];
        if (!Convert.TryFromBase64String(parameter, bytes, out var length)) return false;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        var colon = text.IndexOf(':');
        if (colon <= 0) return false;
        (userName, password) = (text[..colon], text[(colon + 1)..]);
        return true;
    }
}

/// <summary>Why a presented credential was refused, and whose it claimed to be (a user name or token id, never the secret).</summary>
public sealed class SignInFailedException(SignInFailure reason, string? who) : Exception($"Sign-in failed: {reason}.")
{
    public SignInFailure Reason { get; } = reason;
    public string? Who { get; } = who;
}
