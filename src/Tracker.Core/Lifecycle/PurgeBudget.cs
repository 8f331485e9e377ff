namespace Tracker.Core.Lifecycle;

/// <summary>What one invocation may still delete (blobs and table rows alike).</summary>
public sealed class PurgeBudget(int left)
{
    public int Left { get; private set; } = left;
    public bool Spent => Left <= 0;
    public void Spend(int count) => Left -= count;
}
