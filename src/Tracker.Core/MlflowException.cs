namespace Tracker.Core;

/// <summary>A failure the client should see as MLflow's <c>{"error_code","message"}</c> body.</summary>
/// <param name="cause">Kept for the server's log only; the client sees <paramref name="message"/>.</param>
public sealed class MlflowException(ErrorCode code, string message, Exception? cause = null) : Exception(message, cause)
{
    public ErrorCode Code { get; } = code;

    public static MlflowException InvalidParameter(string message) => new(ErrorCode.InvalidParameterValue, message);
    public static MlflowException NotFound(string message) => new(ErrorCode.ResourceDoesNotExist, message);

    public static MlflowException MissingParameter(string name) =>
        InvalidParameter($"Missing value for required parameter '{name}'. See the API docs for more information about request parameters.");
}
