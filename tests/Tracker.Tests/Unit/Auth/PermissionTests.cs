using Tracker.Core;
using Tracker.Core.Auth;

namespace Tracker.Tests.Unit.Auth;

public sealed class PermissionTests
{
    [Fact]
    public void LevelsAreOrderedAsMlflowsPriority()
    {
        Permission[] ascending = [Permission.NoPermissions, Permission.Read, Permission.Use, Permission.Edit, Permission.Manage];
        for (var i = 1; i < ascending.Length; i++)
        {
            Assert.True(ascending[i - 1] < ascending[i], $"{ascending[i - 1]} < {ascending[i]}");
            Assert.True(ascending[i] > ascending[i - 1]);
        }
        Assert.Equal(ascending, ascending.Reverse().Order());
        Assert.Equal(Permission.NoPermissions, default);
    }

    [Theory]
    // name, can_read, can_use, can_update, can_delete, can_manage (mlflow/server/auth/permissions.py)
    [InlineData("NO_PERMISSIONS", false, false, false, false, false)]
    [InlineData("READ", true, false, false, false, false)]
    [InlineData("USE", true, true, false, false, false)]
    [InlineData("EDIT", true, true, true, false, false)]
    [InlineData("MANAGE", true, true, true, true, true)]
    public void CapabilitiesMatchMlflow(string name, bool read, bool use, bool update, bool delete, bool manage)
    {
        var p = Permission.Parse(name);
        Assert.Equal(name, p.Name);
        Assert.Equal(name, p.ToString());
        Assert.Equal((read, use, update, delete, manage), (p.CanRead, p.CanUse, p.CanUpdate, p.CanDelete, p.CanManage));
    }

    [Theory]
    [InlineData("read")]
    [InlineData(" READ")]
    [InlineData("")]
    [InlineData("ADMIN")]
    [InlineData(null)]
    public void AnythingButMlflowsExactNamesIsInvalidParameter(string? name)
    {
        Assert.False(Permission.TryParse(name, out _));
        var e = Assert.Throws<MlflowException>(() => Permission.Parse(name));
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
        Assert.Contains("Valid permissions are", e.Message);
    }

    [Fact]
    public void MaxIsTheStronger() => Assert.Equal(Permission.Edit, Permission.Max(Permission.Read, Permission.Edit));
}
