namespace Tracker.Core;

/// <summary>MLflow's error codes (databricks.proto) with the HTTP status MLflow's server maps each to.</summary>
public readonly record struct ErrorCode(string Name, int HttpStatus)
{
    public static readonly ErrorCode InvalidParameterValue = new("INVALID_PARAMETER_VALUE", 400);
    public static readonly ErrorCode ResourceAlreadyExists = new("RESOURCE_ALREADY_EXISTS", 400);
    public static readonly ErrorCode BadRequest = new("BAD_REQUEST", 400);
    /// <summary>A body over a size limit: one code whether Kestrel or Tracker noticed the size first.</summary>
    public static readonly ErrorCode PayloadTooLarge = InvalidParameterValue with { HttpStatus = 413 };
    public static readonly ErrorCode ResourceDoesNotExist = new("RESOURCE_DOES_NOT_EXIST", 404);
    public static readonly ErrorCode EndpointNotFound = new("ENDPOINT_NOT_FOUND", 404);
    public static readonly ErrorCode Unauthenticated = new("UNAUTHENTICATED", 401);
    public static readonly ErrorCode PermissionDenied = new("PERMISSION_DENIED", 403);
    public static readonly ErrorCode ResourceConflict = new("RESOURCE_CONFLICT", 409);
    public static readonly ErrorCode RequestLimitExceeded = new("REQUEST_LIMIT_EXCEEDED", 429);
    public static readonly ErrorCode InternalError = new("INTERNAL_ERROR", 500);
    public static readonly ErrorCode InvalidState = new("INVALID_STATE", 500);
    public static readonly ErrorCode NotImplemented = new("NOT_IMPLEMENTED", 501);
    public static readonly ErrorCode TemporarilyUnavailable = new("TEMPORARILY_UNAVAILABLE", 503);

    public override string ToString() => Name;
}
