namespace Tracker.Bench;

/// <summary>The command line. Either a base URL of a running server, or <c>--launch</c>.</summary>
public sealed record BenchOptions(
    string? TargetUrl,
    string? LaunchExecutable,
    IReadOnlyList<KeyValuePair<string, string>> ChildEnvironment,
    bool Quick,
    bool SameRun,
    IReadOnlySet<string> Workloads,
    int? ArtifactMegabytes,
    string? Token = null,
    IReadOnlyList<int>? ScaleRuns = null)
{
    public const int UsageExitCode = 2;

    /// <summary>Whatever happens, the bench gives up after this long (the full run takes a few minutes).</summary>
    public static readonly TimeSpan HardTimeLimit = TimeSpan.FromMinutes(20);

    /// <summary>
    /// <c>--only scale</c> seeds 122,000 runs (two calls each) into one Azurite that scans its whole table on every query,
    /// so it gets longer; a bench that hangs is still stopped.
    /// </summary>
    public static readonly TimeSpan ScaleTimeLimit = TimeSpan.FromHours(3);

    /// <summary>Bounds of one <c>--scale-runs</c> size: at least one run, and no more than Azurite can sensibly hold in memory.</summary>
    public const int MaxScaleRuns = 1_000_000;

    /// <summary>A single Put Blob takes at most 5000 MiB; the quarter-size proxied upload needs at least 1 MiB.</summary>
    public const int MaxArtifactMegabytes = 5000;
    public const int MinArtifactMegabytes = 4;

    private const string Usage = """
        usage: Tracker.Bench <base-url> [--token T] [--quick] [--same-run] [--only NAMES] [--artifact-mb N] [--scale-runs N,N,...]
               Tracker.Bench --launch <server-executable> [--env KEY=VALUE]... [same options]

          <base-url>      a running MLflow-compatible server, e.g. http://127.0.0.1:5000
          --launch PATH   start the server executable itself on a free loopback port
                          (sets FUNCTIONS_CUSTOMHANDLER_PORT) and also measure startup and memory
          --env KEY=VAL   environment variable for the launched server (repeatable)
          --token TOKEN   sent as Authorization: Bearer (a Tracker token, as MLFLOW_TRACKING_TOKEN) to a
                          running server with auth on; with --launch the bench makes its own user and token
          --quick         counts scaled down ~10x, for smoke runs
          --same-run      the 8 concurrent log-batch writers share one run instead of one run each
          --only NAMES    run only these workloads, comma-separated, from:
                          log-batch, log-metric, history, search, registry, artifacts (default: these six),
                          and, with --launch only: fuzz (hostile requests against a heap capped at
                          384 MiB unless --env DOTNET_GCHeapHardLimit=... says otherwise),
                          telemetry (start-up and log-metric latency with OpenTelemetry off vs on),
                          auth (log-metric latency and log-batch throughput with auth off vs on),
                          promotion (promotions/create to succeeded in local mode, median of 20),
                          purge (runs of 1,000 small artifacts deleted and purged through the lifecycle
                          queue by a local-mode sibling with retention 0: blobs per second),
                          scale (experiments of 2,000, 20,000 and 100,000 runs: seeding, filtered and paged
                          search, the first search in a freshly started sibling, storage requests per
                          log-batch, bytes per cached run; may run for an hour)
          --artifact-mb N size of the artifact files in MiB (default 1024, --quick 64; 4 to 5000)
          --scale-runs N,N,...  runs per experiment of --only scale (default 2000,20000,100000;
                          --quick 200,2000,10000), e.g. 300,1000 for a smoke run
        """;

    /// <summary>Parses <paramref name="args"/>; on a usage error writes why and returns null.</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args, TextWriter errors)
    {
        string? url = null;
        string? launch = null;
        var env = new List<KeyValuePair<string, string>>();
        bool quick = false, sameRun = false;
        HashSet<string>? only = null;
        int? artifactMegabytes = null;
        string? token = null;
        List<int>? scaleRuns = null;

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "-h" or "--help":
                    errors.WriteLine(Usage);
                    return null;
                case "--quick":
                    quick = true;
                    break;
                case "--same-run":
                    sameRun = true;
                    break;
                case "--only" when i + 1 < args.Count:
                    only ??= new HashSet<string>(StringComparer.Ordinal);
                    foreach (var name in args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!BenchWorkload.Named.Contains(name))
                        {
                            return Fail(errors, $"--only: no workload '{name}' (choose from {string.Join(", ", BenchWorkload.Named)})");
                        }

                        only.Add(name);
                    }

                    break;
                case "--artifact-mb" when i + 1 < args.Count:
                    if (!int.TryParse(args[++i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mb)
                        || mb is < MinArtifactMegabytes or > MaxArtifactMegabytes)
                    {
                        return Fail(errors, $"--artifact-mb expects a whole number of MiB from {MinArtifactMegabytes} to {MaxArtifactMegabytes}, got '{args[i]}'");
                    }

                    artifactMegabytes = mb;
                    break;
                case "--scale-runs" when i + 1 < args.Count:
                    scaleRuns = [];
                    foreach (var size in args[++i].Split(',', StringSplitOptions.TrimEntries))
                    {
                        if (!int.TryParse(size, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var runs)
                            || runs is < 1 or > MaxScaleRuns)
                        {
                            return Fail(errors, $"--scale-runs expects whole numbers of runs from 1 to {MaxScaleRuns}, comma-separated, got '{args[i]}'");
                        }

                        scaleRuns.Add(runs);
                    }

                    break;
                case "--token" when i + 1 < args.Count:
                    token = args[++i];
                    break;
                case "--launch" when i + 1 < args.Count:
                    launch = args[++i];
                    break;
                case "--env" when i + 1 < args.Count:
                    // Split on the first '=' only: connection strings are full of '='.
                    var pair = args[++i];
                    var eq = pair.IndexOf('=');
                    if (eq <= 0)
                    {
                        return Fail(errors, $"--env expects KEY=VALUE, got '{pair}'");
                    }

                    env.Add(new(pair[..eq], pair[(eq + 1)..]));
                    break;
                case var _ when arg.StartsWith('-'):
                    return Fail(errors, $"unknown or incomplete option '{arg}'");
                case var _ when url is null:
                    url = arg;
                    break;
                default:
                    return Fail(errors, $"unexpected argument '{arg}'");
            }
        }

        if ((url is null) == (launch is null))
        {
            return Fail(errors, "give either a base URL or --launch <executable>, not both and not neither");
        }

        if (url is not null)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                return Fail(errors, $"'{url}' is not an http(s) URL");
            }

            if (!uri.IsLoopback)
            {
                errors.WriteLine($"warning: {uri.Host} is not a loopback address; the bench writes thousands of runs and points there");
            }

            url = url.TrimEnd('/');
        }

        if (launch is null && env.Count > 0)
        {
            return Fail(errors, "--env only applies with --launch");
        }

        if (launch is null && only is not null && (only.Contains(BenchWorkload.Fuzz) || only.Contains(BenchWorkload.Telemetry) || only.Contains(BenchWorkload.Auth) || only.Contains(BenchWorkload.Promotion) || only.Contains(BenchWorkload.Purge) || only.Contains(BenchWorkload.Scale)))
        {
            return Fail(errors, "--only fuzz, telemetry, auth, promotion, purge and scale need --launch");
        }

        if (scaleRuns is not null && only?.Contains(BenchWorkload.Scale) != true)
        {
            return Fail(errors, "--scale-runs only applies with --only scale");
        }

        if (only?.Contains(BenchWorkload.Fuzz) == true && !env.Exists(e => e.Key == Tracker.Bench.Workloads.FuzzWorkload.HeapLimitVariable))
        {
            env.Add(new(Tracker.Bench.Workloads.FuzzWorkload.HeapLimitVariable, Tracker.Bench.Workloads.FuzzWorkload.DefaultHeapLimit));
        }

        if (only is { Count: 0 })
        {
            return Fail(errors, "--only needs at least one workload name");
        }

        if (launch is not null && token is not null)
        {
            return Fail(errors, "--token is for a running server; with --launch the bench makes its own");
        }

        return new BenchOptions(url, launch, env, quick, sameRun, only ?? [.. BenchWorkload.All], artifactMegabytes, token, scaleRuns);
    }

    public bool Runs(string workload) => Workloads.Contains(workload);

    /// <summary>How long the bench may run before it stops itself.</summary>
    public TimeSpan TimeLimit => Runs(BenchWorkload.Scale) ? ScaleTimeLimit : HardTimeLimit;

    private static BenchOptions? Fail(TextWriter errors, string message)
    {
        errors.WriteLine($"error: {message}");
        errors.WriteLine(Usage);
        return null;
    }
}
