using System.Security.Cryptography;

namespace Tracker.Core.Tracking;

/// <summary>MLflow-style random run names (<c>adjective-noun-NNN</c>, at most 20 characters).</summary>
public static class RunNames
{
    private static readonly string[] Adjectives =
    [
        "able", "bold", "brave", "calm", "clean", "clever", "crisp", "eager", "fair", "fast", "gentle", "glad", "grand",
        "happy", "keen", "kind", "lucky", "merry", "neat", "nice", "proud", "quick", "quiet", "rare", "sharp", "shy",
        "smart", "sunny", "swift", "tidy", "vast", "warm", "wise", "witty", "young", "zesty",
    ];

    private static readonly string[] Nouns =
    [
        "ant", "bass", "bat", "bear", "bee", "cat", "carp", "cod", "colt", "crab", "crow", "deer", "doe", "dove", "eel",
        "elk", "fawn", "finch", "fox", "frog", "goat", "gull", "hare", "hawk", "hen", "jay", "koi", "lark", "lynx", "mole",
        "moth", "mule", "newt", "owl", "ox", "pig", "ram", "seal", "slug", "snail", "swan", "toad", "trout", "wasp", "wolf",
        "worm", "wren", "yak",
    ];

    public static string New() =>
        $"{Adjectives[RandomNumberGenerator.GetInt32(Adjectives.Length)]}-{Nouns[RandomNumberGenerator.GetInt32(Nouns.Length)]}-{RandomNumberGenerator.GetInt32(1000)}";
}
