namespace Tracker.Core.Lifecycle;

/// <summary>How far one invocation's share of a purge got.</summary>
public enum PurgeOutcome
{
    /// <summary>Purged for good (or there was nothing to purge).</summary>
    Done,
    /// <summary>The budget ran out; the continuation says where to go on.</summary>
    Continue,
    /// <summary>Everything that could go is gone; the rest backs a registered version and stays.</summary>
    Kept,
}
