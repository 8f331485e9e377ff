using System.Globalization;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Core.Storage;
using Microsoft.Extensions.Options;

namespace Tracker.Functions.Admin;

/// <summary>
/// <c>Tracker.Functions admin …</c>: management commands that write straight to the configured storage, for what no API
/// call can do before an admin exists. <c>create-token</c> makes the first admin (azd's postprovision hook runs it with
/// the deployer's identity); it prints only the token on stdout, so a script can capture it, and everything else on
/// stderr. Same configuration as the server (appsettings.json, then <c>Tracker__…</c> environment variables), and only the
/// services the command needs: no web host, nothing listens.
/// </summary>
public static class AdminCommand
{
    private const string Usage = """
        Usage:
          Tracker.Functions admin create-token --user <name> [--admin] [--name <token name>] [--expires-in-days <n>]
              Creates the user if missing (no password), makes them an admin if --admin is given, creates a token and
              prints it on stdout. The token is shown only this once.
          Tracker.Functions admin revoke-token --id <token id>
          Tracker.Functions admin link-entra --user <name> --tenant <tenant id> --object-id <object id>
              Lets a Microsoft Entra identity (a person, or a training job's managed identity: its object/principal id)
              sign in as the user, who is created if missing (no password, not an admin).
          Tracker.Functions admin unlink-entra --tenant <tenant id> --object-id <object id>
        Storage comes from Tracker__Storage__ConnectionString (Azurite) or Tracker__Storage__TableServiceUri and
        Tracker__Storage__BlobServiceUri (Azure, signed in as DefaultAzureCredential finds you, e.g. azd's or az's login).
        """;

    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, LoadConfiguration(), Console.Out, Console.Error);

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        if (args is not [var command, .. var rest]) return await UsageErrorAsync(stderr, "Missing command.");
        if (!TryParseOptions(rest, out var options, out var problem)) return await UsageErrorAsync(stderr, problem);
        try
        {
            await using var services = BuildServices(configuration);
            var store = services.GetRequiredService<AuthStore>();
            return command switch
            {
                "create-token" => await CreateTokenAsync(store, options, stdout, stderr, ct),
                "revoke-token" => await RevokeTokenAsync(store, options, stderr, ct),
                "link-entra" => await LinkEntraAsync(store, options, stderr, ct),
                "unlink-entra" => await UnlinkEntraAsync(store, options, stderr, ct),
                _ => await UsageErrorAsync(stderr, $"Unknown command '{command}'."),
            };
        }
        catch (Exception e) when (e is MlflowException or OptionsValidationException or InvalidOperationException or Azure.RequestFailedException
                                      or Azure.Identity.AuthenticationFailedException)
        {
            await stderr.WriteLineAsync($"Error: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> CreateTokenAsync(AuthStore store, Dictionary<string, string?> options, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (!options.TryGetValue("--user", out var userName) || userName is null) return await UsageErrorAsync(stderr, "--user is required.");
        DateTimeOffset? expiresAt = null;
        if (options.TryGetValue("--expires-in-days", out var days))
        {
            if (!int.TryParse(days, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 3650)
                return await UsageErrorAsync(stderr, "--expires-in-days must be a whole number of days from 1 to 3650.");
            expiresAt = DateTimeOffset.UtcNow.AddDays(n);
        }
        var admin = options.ContainsKey("--admin");

        var user = await store.GetUserAsync(userName, ct);
        if (user is null)
        {
            try
            {
                user = await store.CreateUserAsync(userName, password: null, isAdmin: admin, ct);
                await stderr.WriteLineAsync($"Created user '{user.UserName}'{(admin ? " (admin)" : "")}.");
            }
            catch (MlflowException e) when (e.Code == ErrorCode.ResourceAlreadyExists)
            {
                user = await store.RequireUserAsync(userName, ct); // created meanwhile, e.g. by a second run of the hook
            }
        }
        if (admin && !user.IsAdmin)
        {
            await store.UpdateAdminAsync(user.UserName, true, ct);
            await stderr.WriteLineAsync($"Made '{user.UserName}' an admin.");
        }
        var token = await store.CreateTokenAsync(user.UserName, options.GetValueOrDefault("--name") ?? "admin create-token", expiresAt, ct);
        await stderr.WriteLineAsync(
            $"Created token {token.Info.Id} ('{token.Info.Name}') for '{user.UserName}'{(expiresAt is null ? "" : $", expiring {expiresAt:u}")}. It is shown only now:");
        await stdout.WriteLineAsync(token.Token);
        return 0;
    }

    private static async Task<int> RevokeTokenAsync(AuthStore store, Dictionary<string, string?> options, TextWriter stderr, CancellationToken ct)
    {
        if (!options.TryGetValue("--id", out var id) || id is null) return await UsageErrorAsync(stderr, "--id is required.");
        var token = await store.RevokeTokenAsync(id, ct);
        await stderr.WriteLineAsync($"Revoked token {token.Id} ('{token.Name}') of '{token.Owner}'.");
        return 0;
    }

    private static async Task<int> LinkEntraAsync(AuthStore store, Dictionary<string, string?> options, TextWriter stderr, CancellationToken ct)
    {
        if (!options.TryGetValue("--user", out var userName) || userName is null) return await UsageErrorAsync(stderr, "--user is required.");
        if (!TryGetEntraIdentity(options, out var tenant, out var objectId)) return await UsageErrorAsync(stderr, "--tenant and --object-id must be GUIDs.");
        if (await store.GetUserAsync(userName, ct) is null)
        {
            try
            {
                await store.CreateUserAsync(userName, password: null, isAdmin: false, ct);
                await stderr.WriteLineAsync($"Created user '{userName}'.");
            }
            catch (MlflowException e) when (e.Code == ErrorCode.ResourceAlreadyExists)
            {
                // created meanwhile: link to it
            }
        }
        var identity = await store.LinkEntraIdentityAsync(tenant, objectId, userName, ct);
        await stderr.WriteLineAsync($"Entra identity {identity.TenantId:D}/{identity.ObjectId:D} now signs in as '{identity.UserName}'.");
        return 0;
    }

    private static async Task<int> UnlinkEntraAsync(AuthStore store, Dictionary<string, string?> options, TextWriter stderr, CancellationToken ct)
    {
        if (!TryGetEntraIdentity(options, out var tenant, out var objectId)) return await UsageErrorAsync(stderr, "--tenant and --object-id must be GUIDs.");
        await store.UnlinkEntraIdentityAsync(tenant, objectId, ct);
        await stderr.WriteLineAsync($"Entra identity {tenant:D}/{objectId:D} no longer signs in.");
        return 0;
    }

    private static bool TryGetEntraIdentity(Dictionary<string, string?> options, out Guid tenant, out Guid objectId)
    {
        // Both parsed (no short-circuit), so both out values are set either way.
        return Guid.TryParse(options.GetValueOrDefault("--tenant"), out tenant) & Guid.TryParse(options.GetValueOrDefault("--object-id"), out objectId);
    }

    private static async Task<int> UsageErrorAsync(TextWriter stderr, string problem)
    {
        await stderr.WriteLineAsync($"{problem}\n{Usage}");
        return 2;
    }

    private static readonly HashSet<string> Flags = ["--admin"];
    private static readonly HashSet<string> Valued = ["--user", "--name", "--expires-in-days", "--id", "--tenant", "--object-id"];

    private static bool TryParseOptions(string[] args, out Dictionary<string, string?> options, out string problem)
    {
        options = new Dictionary<string, string?>(StringComparer.Ordinal);
        problem = "";
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (Flags.Contains(arg)) options[arg] = null;
            else if (Valued.Contains(arg) && i + 1 < args.Length) options[arg] = args[++i];
            else
            {
                problem = Valued.Contains(arg) ? $"{arg} needs a value." : $"Unknown option '{arg}'.";
                return false;
            }
        }
        return true;
    }

    /// <summary>What the server reads too: appsettings.json beside the executable, then the environment.</summary>
    private static IConfiguration LoadConfiguration()
    {
        var environment = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Production";
        return new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
    }

    private static ServiceProvider BuildServices(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        services.AddTrackerStorage();
        services.AddTrackerAuth();
        return services.BuildServiceProvider();
    }
}
