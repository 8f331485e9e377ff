using Tracker.Core.Registry;

namespace Tracker.Core.Webhooks;

/// <summary>
/// The rules a webhook's fields follow, the same for create and update. Lengths are the columns of MLflow's
/// <c>webhooks</c> table (name 256, description 1000, url 500, secret 1000); messages are MLflow's where its source has
/// one for the case (empty events, an action the entity does not have, length limits), else in its style.
/// </summary>
public static class WebhookValidation
{
    public const int MaxNameLength = 256;
    public const int MaxDescriptionLength = 1000;
    public const int MaxUrlLength = 500;
    public const int MaxSecretLength = 1000;

    /// <summary>Entity → actions, as MLflow's <c>VALID_ENTITY_ACTIONS</c> (model registry part) plus Tracker's promotion.</summary>
    private static readonly Dictionary<string, string[]> ValidActions = WebhookEvents.All
        .GroupBy(e => e.Entity).ToDictionary(g => g.Key, g => g.Select(e => e.Action).Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);

    private static readonly string[] Actions = WebhookEvents.All.Select(e => e.Action).Distinct().ToArray();

    public static string Name(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw MlflowException.InvalidParameter("Webhook name cannot be empty.");
        return Length("Webhook name", name, MaxNameLength);
    }

    public static string? Description(string? description) =>
        description is null ? null : Length("Webhook description", description, MaxDescriptionLength);

    /// <summary>
    /// An absolute http or https URL with a host, no user name or password in it (they would be sent to the
    /// destination and returned by every read), at most <see cref="MaxUrlLength"/> characters. Where it may connect is
    /// decided at delivery time, per address (<see cref="DestinationAddresses"/>): a check of the text here could be
    /// bypassed by DNS, as MLflow's was.
    /// </summary>
    public static string Url(string url)
    {
        if (string.IsNullOrWhiteSpace(url)) throw MlflowException.InvalidParameter("Webhook URL cannot be empty.");
        if (url.Length > MaxUrlLength)
            throw MlflowException.InvalidParameter($"Webhook URL had length {url.Length}, which exceeded length limit of {MaxUrlLength}");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || url.Any(char.IsControl) || url.Any(char.IsWhiteSpace))
            throw MlflowException.InvalidParameter($"Invalid webhook URL: '{Echo.Truncate(url)}'.");
        if (uri.Scheme is not ("http" or "https"))
            throw MlflowException.InvalidParameter($"Invalid webhook URL scheme: '{Echo.Truncate(uri.Scheme)}'. Only 'http' and 'https' are supported.");
        if (uri.UserInfo.Length > 0 || Authority(url, uri).Contains('@'))
            throw MlflowException.InvalidParameter("Webhook URL must not contain credentials (user name or password).");
        return url;
    }

    /// <summary>The authority part of the text as written (between "//" and the first "/", "?" or "#").</summary>
    private static string Authority(string url, Uri uri)
    {
        var rest = url[(uri.Scheme.Length + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        return end < 0 ? rest : rest[..end];
    }

    public static string? Secret(string? secret) =>
        secret is not null && secret.Length > MaxSecretLength
            ? throw MlflowException.InvalidParameter($"Webhook secret had length {secret.Length}, which exceeded length limit of {MaxSecretLength}")
            : secret;

    /// <summary>MLflow's <c>WebhookStatus</c> enum names; absent means ACTIVE at create.</summary>
    public static string Status(string status) =>
        WebhookStatus.All.FirstOrDefault(s => s == status)
        ?? throw MlflowException.InvalidParameter($"Invalid enum value {Echo.Truncate(status)} for enum type mlflow.WebhookStatus.");

    /// <summary>At least one event, each an action its entity has; duplicates collapse.</summary>
    public static IReadOnlyList<WebhookEvent> Events(IReadOnlyList<WebhookEvent> events)
    {
        if (events.Count == 0) throw MlflowException.InvalidParameter("Webhook events cannot be empty");
        foreach (var e in events) Event(e);
        return events.Distinct().ToList();
    }

    /// <summary>
    /// One event, from the proto enum names the REST wire carries (<c>MODEL_VERSION</c>/<c>CREATED</c>; Tracker also
    /// takes the lowercase values the payloads carry).
    /// </summary>
    public static WebhookEvent Event(string? entity, string? action)
    {
        if (string.IsNullOrEmpty(entity)) throw MlflowException.MissingParameter("events.entity");
        if (string.IsNullOrEmpty(action)) throw MlflowException.MissingParameter("events.action");
        var e = entity.ToLowerInvariant();
        var a = action.ToLowerInvariant();
        if (!ValidActions.ContainsKey(e))
            throw MlflowException.InvalidParameter($"Invalid enum value {Echo.Truncate(entity)} for enum type mlflow.WebhookEntity.");
        if (!Actions.Contains(a))
            throw MlflowException.InvalidParameter($"Invalid enum value {Echo.Truncate(action)} for enum type mlflow.WebhookAction.");
        return Event(new WebhookEvent(e, a));
    }

    private static WebhookEvent Event(WebhookEvent e)
    {
        var valid = ValidActions.GetValueOrDefault(e.Entity) ?? [];
        if (!valid.Contains(e.Action))
            throw MlflowException.InvalidParameter(
                $"Invalid action '{e.Action}' for entity '{e.Entity}'. Valid actions are: [{string.Join(", ", valid.Select(v => $"'{v}'"))}]");
        return e;
    }

    /// <summary>The model a webhook is scoped to, in the registry's one spelling; empty means none.</summary>
    public static string? ModelName(string? name) => string.IsNullOrEmpty(name) ? null : RegistryNames.Canonical(name, "model_name");

    private static string Length(string what, string value, int limit) =>
        value.Length <= limit
            ? value
            : throw MlflowException.InvalidParameter(
                $"{what} '{Echo.Truncate(value)}' had length {value.Length}, which exceeded length limit of {limit}");
}
