namespace Tracker.Core.Storage;

/// <summary>A run, experiment or logged model as the purge worker sees it: what it is, and when it was deleted.</summary>
public sealed record PurgeCandidate(string Id, string ExperimentId, string Lifecycle, long? DeletedTime);
