using System.Net;
using System.Net.Sockets;

namespace Tracker.Core.Webhooks;

/// <summary>
/// Which addresses a webhook delivery may connect to (security baseline §1.3, case 10): public unicast only. Checked on
/// every address a host name resolves to, at connect time, and the connection then goes to one of those checked
/// addresses, so neither DNS rebinding nor a second lookup can slip a private address in (MLflow's string-level check
/// was bypassed that way, CVE-2026-64849). IPv6 is allowed only inside global unicast 2000::/3; IPv6 forms that carry
/// an IPv4 address (mapped, compatible, 6to4) are judged by that IPv4 address; Teredo hides its client, so it is refused.
/// </summary>
public static class DestinationAddresses
{
    /// <summary>IPv4 ranges that are not public unicast (RFC 6890 special-purpose registry, the ones a webhook must never reach).</summary>
    private static readonly (uint Network, int PrefixLength, string Why)[] ForbiddenV4 =
    [
        (V4(0, 0, 0, 0), 8, "this network"),
        (V4(10, 0, 0, 0), 8, "private"),
        (V4(100, 64, 0, 0), 10, "carrier-grade NAT"),
        (V4(127, 0, 0, 0), 8, "loopback"),
        (V4(169, 254, 0, 0), 16, "link-local (cloud metadata)"),
        (V4(172, 16, 0, 0), 12, "private"),
        (V4(192, 0, 0, 0), 24, "IETF protocol assignments"),
        (V4(192, 0, 2, 0), 24, "documentation"),
        (V4(192, 88, 99, 0), 24, "6to4 relay anycast"),
        (V4(192, 168, 0, 0), 16, "private"),
        (V4(198, 18, 0, 0), 15, "benchmarking"),
        (V4(198, 51, 100, 0), 24, "documentation"),
        (V4(203, 0, 113, 0), 24, "documentation"),
        (V4(224, 0, 0, 0), 4, "multicast"),
        (V4(240, 0, 0, 0), 4, "reserved (and broadcast)"),
    ];

    /// <summary>Why <paramref name="address"/> is refused, or null when a delivery may connect to it.</summary>
    public static string? Refusal(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork) return RefusalV4(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return "not an IP address";
        if (address.IsIPv4MappedToIPv6) return RefusalV4(address.MapToIPv4());
        var bytes = address.GetAddressBytes();
        // IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it): the first 96 bits zero. :: and ::1 included.
        if (bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            if (address.Equals(IPAddress.IPv6Loopback)) return "loopback";
            if (address.Equals(IPAddress.IPv6Any)) return "unspecified";
            return RefusalV4(new IPAddress(bytes.AsSpan(12, 4)));
        }
        if ((bytes[0] & 0xE0) != 0x20) return (bytes[0], bytes[1] & 0xC0) switch
        {
            (0xFE, 0x80) => "link-local",
            (0xFF, _) => "multicast",
            _ when (bytes[0] & 0xFE) == 0xFC => "unique-local",
            _ => "not global unicast",
        };
        // 6to4 2002:a.b.c.d::/48 carries an IPv4 address that the relay delivers to.
        if (bytes[0] == 0x20 && bytes[1] == 0x02) return RefusalV4(new IPAddress(bytes.AsSpan(2, 4)));
        if (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x00 && bytes[3] == 0x00) return "Teredo";
        if (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8) return "documentation";
        return null;
    }

    public static bool IsAllowed(IPAddress address) => Refusal(address) is null;

    private static string? RefusalV4(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        var value = V4(bytes[0], bytes[1], bytes[2], bytes[3]);
        foreach (var (network, length, why) in ForbiddenV4)
        {
            var mask = length == 0 ? 0u : uint.MaxValue << (32 - length);
            if ((value & mask) == network) return why;
        }
        return null;
    }

    private static uint V4(int a, int b, int c, int d) => (uint)(a << 24 | b << 16 | c << 8 | d);
}
