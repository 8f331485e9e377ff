using System.Net;
using Tracker.Core.Webhooks;

namespace Tracker.Tests.Webhooks;

/// <summary>The address classifier a delivery's connect callback applies to every resolved address (no I/O).</summary>
public sealed class DestinationAddressesTests
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("0.1.2.3")]
    [InlineData("10.0.0.1")]
    [InlineData("10.255.255.255")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.254")]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.0.9")]
    [InlineData("169.254.169.254")] // cloud metadata
    [InlineData("169.254.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("192.0.0.170")]
    [InlineData("198.18.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("255.255.255.255")] // broadcast
    [InlineData("240.0.0.1")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("febf::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")] // IPv4-mapped forms of forbidden IPv4 addresses
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("::127.0.0.1")] // IPv4-compatible
    [InlineData("::192.168.0.1")]
    [InlineData("2002:7f00:1::")] // 6to4 of 127.0.0.1
    [InlineData("2002:a9fe:a9fe::1")] // 6to4 of 169.254.169.254
    [InlineData("2001:0:4136:e378::1")] // Teredo
    [InlineData("2001:db8::1")]
    [InlineData("64:ff9b::a9fe:a9fe")] // NAT64 outside 2000::/3
    public void NonPublicAddressesAreRefused(string address) =>
        Assert.False(DestinationAddresses.IsAllowed(IPAddress.Parse(address)), $"{address} should be refused");

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("172.15.255.255")] // just outside 172.16/12
    [InlineData("172.32.0.1")]
    [InlineData("100.63.255.255")] // just outside 100.64/10
    [InlineData("100.128.0.1")]
    [InlineData("169.253.255.255")]
    [InlineData("11.0.0.1")]
    [InlineData("223.255.255.254")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2a00:1450:4001:82a::200e")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("2002:0808:0808::1")] // 6to4 of 8.8.8.8
    public void PublicUnicastAddressesAreAllowed(string address) =>
        Assert.True(DestinationAddresses.IsAllowed(IPAddress.Parse(address)), $"{address} should be allowed: {DestinationAddresses.Refusal(IPAddress.Parse(address))}");
}
