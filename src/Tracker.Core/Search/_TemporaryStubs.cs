namespace Tracker.Core.Search;

// TEMPORARY until the search grammar branch merges.
public sealed class RunFilter { public static RunFilter Parse(string? f) => new(); public bool Matches(ISearchableRun r) => true; }
public sealed class RunOrdering { public static RunOrdering Parse(IReadOnlyList<string>? o) => new(); public IComparer<ISearchableRun> Comparer { get; } = Comparer<ISearchableRun>.Create((a, b) => b.StartTime.CompareTo(a.StartTime)); }
public sealed class ExperimentFilter { public static ExperimentFilter Parse(string? f) => new(); public bool Matches(ISearchableExperiment r) => true; }
public sealed class ExperimentOrdering { public static ExperimentOrdering Parse(IReadOnlyList<string>? o) => new(); public IComparer<ISearchableExperiment> Comparer { get; } = Comparer<ISearchableExperiment>.Create((a, b) => b.CreationTime.CompareTo(a.CreationTime)); }
