namespace Tracker.Bench;

/// <summary>The command line. Either a base URL of a running server, or <c>--launch</c>.</summary>
public sealed record BenchOptions(
    string? TargetUrl,
    string? LaunchExecutable,
    IReadOnlyList<KeyValuePair<string, string>> ChildEnvironment,
    bool Quick,
    bool SameRun)
{
    public const int UsageExitCode = 2;

    /// <summary>Whatever happens, the bench gives up after this long (the full run takes a few minutes).</summary>
    public static readonly TimeSpan HardTimeLimit = TimeSpan.FromMinutes(20);

    private const string Usage = """
        usage: Tracker.Bench <base-url> [--quick] [--same-run]
               Tracker.Bench --launch <server-executable> [--env KEY=VALUE]... [--quick] [--same-run]

          <base-url>      a running MLflow-compatible server, e.g. http://127.0.0.1:5000
          --launch PATH   start the server executable itself on a free loopback port
                          (sets FUNCTIONS_CUSTOMHANDLER_PORT) and also measure startup and memory
          --env KEY=VAL   environment variable for the launched server (repeatable)
          --quick         counts scaled down ~10x, for smoke runs
          --same-run      the 8 concurrent log-batch writers share one run instead of one run each
        """;

    /// <summary>Parses <paramref name="args"/>; on a usage error writes why and returns null.</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args, TextWriter errors)
    {
        string? url = null;
        string? launch = null;
        var env = new List<KeyValuePair<string, string>>();
        bool quick = false, sameRun = false;

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

        return new BenchOptions(url, launch, env, quick, sameRun);
    }

    private static BenchOptions? Fail(TextWriter errors, string message)
    {
        errors.WriteLine($"error: {message}");
        errors.WriteLine(Usage);
        return null;
    }
}
