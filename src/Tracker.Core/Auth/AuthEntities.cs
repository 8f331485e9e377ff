namespace Tracker.Core.Auth;

/// <summary>MLflow's user (mlflow/server/auth/entities.py), with its integer id. The password hash never leaves the store.</summary>
public sealed record AuthUser(long Id, string UserName, bool IsAdmin, bool HasPassword);

/// <summary>One user's permission on one experiment (MLflow's ExperimentPermission).</summary>
public sealed record ExperimentPermission(string ExperimentId, long UserId, Permission Permission);

/// <summary>One user's permission on one registered model (MLflow's RegisteredModelPermission).</summary>
public sealed record RegisteredModelPermission(string Name, long UserId, Permission Permission);

/// <summary>All of one user's permission rows, as MLflow's users/get returns them.</summary>
public sealed record UserPermissions(IReadOnlyList<ExperimentPermission> Experiments, IReadOnlyList<RegisteredModelPermission> RegisteredModels);

/// <summary>What may be shown about a Tracker token: never its secret or hash.</summary>
public sealed record TokenInfo(
    string Id, string Owner, string Name, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>A new token: <see cref="Token"/> is its full text, shown to its owner once and never stored.</summary>
public sealed record CreatedToken(TokenInfo Info, string Token);

/// <summary>A Microsoft Entra identity (a person, or a managed identity of a training job) that signs in as a Tracker user.</summary>
public sealed record ExternalIdentity(Guid TenantId, Guid ObjectId, string UserName);
