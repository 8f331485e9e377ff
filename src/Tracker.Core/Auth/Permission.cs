namespace Tracker.Core.Auth;

/// <summary>
/// MLflow's permission levels (mlflow/server/auth/permissions.py), weakest first: NO_PERMISSIONS &lt; READ &lt; USE &lt;
/// EDIT &lt; MANAGE. Each level can do everything the weaker ones can, so a capability is a comparison. The default
/// value is <see cref="NoPermissions"/>: a permission nobody set denies.
/// </summary>
public readonly record struct Permission : IComparable<Permission>
{
    private static readonly string[] Names = ["NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"];

    public static readonly Permission NoPermissions = new(0);
    public static readonly Permission Read = new(1);
    public static readonly Permission Use = new(2);
    public static readonly Permission Edit = new(3);
    public static readonly Permission Manage = new(4);

    private readonly byte _level;

    private Permission(byte level) => _level = level;

    /// <summary>MLflow's wire name, e.g. "READ".</summary>
    public string Name => Names[_level];

    public bool CanRead => _level >= Read._level;
    public bool CanUse => _level >= Use._level;
    public bool CanUpdate => _level >= Edit._level;
    public bool CanDelete => _level >= Manage._level;
    public bool CanManage => _level >= Manage._level;

    /// <summary>MLflow's names only, exactly (as permissions.py's <c>_validate_permission</c>: no case folding).</summary>
    public static bool TryParse(string? name, out Permission permission)
    {
        var i = Array.IndexOf(Names, name);
        permission = i < 0 ? NoPermissions : new Permission((byte)i);
        return i >= 0;
    }

    public static Permission Parse(string? name) => TryParse(name, out var p)
        ? p
        : throw MlflowException.InvalidParameter(
            $"Invalid permission '{Echo.Truncate(name)}'. Valid permissions are: ('READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')");

    public static Permission Max(Permission a, Permission b) => a >= b ? a : b;

    public int CompareTo(Permission other) => _level.CompareTo(other._level);
    public static bool operator <(Permission a, Permission b) => a._level < b._level;
    public static bool operator >(Permission a, Permission b) => a._level > b._level;
    public static bool operator <=(Permission a, Permission b) => a._level <= b._level;
    public static bool operator >=(Permission a, Permission b) => a._level >= b._level;

    public override string ToString() => Name;
}
