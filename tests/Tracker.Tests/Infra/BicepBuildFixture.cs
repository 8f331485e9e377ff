using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tracker.Tests.Infra;

/// <summary>Compiles infra/main.bicep once per test class and exposes the ARM template.</summary>
public sealed class BicepBuildFixture : IAsyncLifetime
{
    internal BicepRun Build { get; private set; } = new(-1, "", "");

    /// <summary>The compiled template, or null when the build failed (the build test reports why).</summary>
    public JsonObject? Template { get; private set; }

    public async Task InitializeAsync()
    {
        Build = await BicepCli.RunAsync("build", BicepCli.MainBicep, "--stdout");
        if (Build.ExitCode != 0)
        {
            return;
        }
        try
        {
            Template = JsonNode.Parse(Build.StandardOutput) as JsonObject;
        }
        catch (JsonException)
        {
            // Left null: the build test parses again and reports the error.
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
