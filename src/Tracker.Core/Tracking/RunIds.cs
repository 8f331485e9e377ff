using System.Globalization;
using System.Security.Cryptography;

namespace Tracker.Core.Tracking;

/// <summary>
/// Run ids are 32 lowercase hex characters like MLflow's uuid4 hex, but the last eight carry the experiment id. Runs
/// are partitioned by experiment, so any run-scoped call finds its partition without an index lookup.
/// </summary>
public static class RunIds
{
    public const string ArtifactScheme = "mlflow-artifacts:/";

    public static string New(string experimentId)
    {
        if (CanonicalExperimentId(experimentId) is not { } canonical)
            throw MlflowException.InvalidParameter($"Invalid experiment id '{experimentId}'.");
        Span<byte> random = stackalloc byte[12];
        RandomNumberGenerator.Fill(random);
        return Convert.ToHexStringLower(random) + uint.Parse(canonical, CultureInfo.InvariantCulture).ToString("x8", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The one spelling of an experiment id ("05" is "5"), or null for anything that cannot name an experiment:
    /// experiment ids are decimal integers that fit the eight hex digits a run id carries.
    /// </summary>
    public static string? CanonicalExperimentId(string id) =>
        id.Length is > 0 and <= 10 && id.All(char.IsAsciiDigit) && uint.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n.ToString(CultureInfo.InvariantCulture)
            : null;

    /// <summary>The experiment a run id belongs to, or null for an id Tracker never issued (so: no such run).</summary>
    public static string? ExperimentOf(string runId)
    {
        if (runId.Length != 32) return null;
        foreach (var c in runId)
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return null;
        return uint.Parse(runId.AsSpan(24), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
    }

    public static string ExperimentArtifactLocation(string experimentId) => ArtifactScheme + experimentId;

    public static string ArtifactUri(string experimentId, string runId) =>
        $"{ExperimentArtifactLocation(experimentId)}/{runId}/artifacts";
}
