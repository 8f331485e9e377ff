namespace Tracker.Bench;

/// <summary>
/// A reason to stop the bench: a failed HTTP call, a wrong answer, a server that would not start.
/// Program prints the message and exits non-zero, so no figure is ever printed from bad data.
/// </summary>
public sealed class BenchException(string message) : Exception(message);
