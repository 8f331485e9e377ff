using Tracker.Core;

namespace Tracker.Tests.Unit;

/// <summary>Assertions on <see cref="MlflowException"/>: the code clients branch on, and MLflow's message text.</summary>
internal static class MlflowAssert
{
    public static MlflowException Throws(Action action) => Throws(ErrorCode.InvalidParameterValue, action);

    public static MlflowException Throws(ErrorCode code, Action action)
    {
        var e = Assert.Throws<MlflowException>(action);
        Assert.Equal(code, e.Code);
        return e;
    }

    public static async Task<MlflowException> ThrowsAsync(Func<Task> action)
    {
        var e = await Assert.ThrowsAsync<MlflowException>(action);
        Assert.Equal(ErrorCode.InvalidParameterValue, e.Code);
        return e;
    }
}
