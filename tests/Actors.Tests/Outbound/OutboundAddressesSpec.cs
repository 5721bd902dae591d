using System.Net;
using Akka.Configuration;
using Supervisor.Actors.Identity;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.FakePds;

namespace Supervisor.Actors.Tests.Outbound;

/// <summary>
/// The supervisor connects to public addresses, and to a non-public one only inside the networks the operator lists:
/// checked on the address a name resolves to, at connect time, before a byte (or a token) is sent.
/// </summary>
public sealed class OutboundAddressesSpec
{
    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("151.101.1.140", true)]
    [InlineData("2606:4700::1111", true)]
    [InlineData("2002:0808:0808::1", true)] // 6to4 of a public address
    [InlineData("127.0.0.1", false)]
    [InlineData("127.0.0.2", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)] // the cloud metadata service
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("198.18.0.1", false)]
    [InlineData("198.19.255.255", false)] // benchmarking, its end
    [InlineData("198.20.0.1", true)]
    [InlineData("192.0.0.9", false)] // IETF protocol assignments
    [InlineData("192.0.2.1", false)] // documentation (TEST-NET-1, -2, -3)
    [InlineData("198.51.100.7", false)]
    [InlineData("203.0.113.9", false)]
    [InlineData("203.0.114.1", true)]
    [InlineData("192.88.99.1", false)] // 6to4 relay anycast
    [InlineData("100.127.255.255", false)] // shared address space, its end
    [InlineData("100.128.0.1", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("::1", false)]
    [InlineData("::", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("ff02::1", false)]
    [InlineData("::ffff:127.0.0.1", false)] // IPv4-mapped loopback
    [InlineData("::ffff:169.254.169.254", false)]
    [InlineData("64:ff9b::a9fe:a9fe", false)] // NAT64 of 169.254.169.254
    [InlineData("64:ff9b::808:808", true)] // NAT64 of 8.8.8.8
    [InlineData("3fff::1", false)]
    [InlineData("2001:2::1", false)]
    [InlineData("2002:a9fe:a9fe::1", false)] // 6to4 of 169.254.169.254
    [InlineData("2001:db8::1", false)]
    [InlineData("2001:0:4136:e378::1", false)] // Teredo
    public void Only_unicast_addresses_outside_every_special_range_are_public(string address, bool isPublic)
    {
        Assert.Equal(isPublic, OutboundAddresses.IsPublic(IPAddress.Parse(address)));
        Assert.Equal(isPublic, OutboundAddresses.PublicOnly.Allows(IPAddress.Parse(address)));
    }

    [Fact]
    public void A_listed_network_is_reachable_and_no_other_non_public_address_is()
    {
        var policy = OutboundAddresses.From(ConfigurationFactory.ParseString("""allow-networks = ["10.0.0.0/8", " fd00::/8 "]"""));
        Assert.True(policy.Allows(IPAddress.Parse("10.20.30.40")));
        Assert.True(policy.Allows(IPAddress.Parse("::ffff:10.20.30.40")));
        Assert.True(policy.Allows(IPAddress.Parse("fd12::1")));
        Assert.True(policy.Allows(IPAddress.Parse("8.8.8.8")));
        Assert.False(policy.Allows(IPAddress.Parse("192.168.1.1")));
        Assert.False(policy.Allows(IPAddress.Parse("169.254.169.254")));
        Assert.False(policy.Allows(IPAddress.Parse("127.0.0.1")));
        Assert.Empty(OutboundAddresses.From(ConfigurationFactory.ParseString("other = 1")).AllowedNetworks);
    }

    [Fact]
    public void A_listed_network_that_is_not_in_CIDR_notation_is_a_configuration_error()
    {
        var error = Assert.Throws<ConfigurationException>(() => OutboundAddresses.From(ConfigurationFactory.ParseString("""allow-networks = ["10.0.0.0/33"]""")));
        Assert.Contains("supervisor.outbound.allow-networks", error.Message);
    }

    [Fact]
    public void The_hosts_own_addresses_are_refused_public_ones_included_unless_listed()
    {
        IPAddress[] own = [IPAddress.Parse("8.8.4.4"), IPAddress.Parse("2606:4700::6810:1")];
        var policy = new OutboundAddresses([], ownAddresses: () => own);
        Assert.False(policy.Allows(IPAddress.Parse("8.8.4.4")));
        Assert.False(policy.Allows(IPAddress.Parse("::ffff:8.8.4.4")));
        Assert.False(policy.Allows(IPAddress.Parse("64:ff9b::808:404"))); // NAT64 of the host's own address
        Assert.False(policy.Allows(IPAddress.Parse("2606:4700::6810:1")));
        Assert.True(policy.Allows(IPAddress.Parse("8.8.8.8")));
        Assert.True(policy.Allows(IPAddress.Parse("2606:4700::6810:2")));

        var listed = new OutboundAddresses([IPNetwork.Parse("8.8.4.4/32")], ownAddresses: () => own);
        Assert.True(listed.Allows(IPAddress.Parse("8.8.4.4")));

        // An own address that carries a public IPv4 one (6to4 behind NAT) is the host's all the same.
        var sixToFour = new OutboundAddresses([], ownAddresses: () => [IPAddress.Parse("2002:808:808::1")]);
        Assert.False(sixToFour.Allows(IPAddress.Parse("2002:808:808::1")));
        Assert.True(sixToFour.Allows(IPAddress.Parse("2002:808:808::2")));
    }

    [Fact]
    public void The_hosts_own_addresses_are_read_from_its_network_interfaces()
    {
        var addresses = OutboundAddresses.InterfaceAddresses().ToList();
        Assert.Contains(IPAddress.Loopback, addresses);
    }

    [Fact]
    public void An_address_made_by_NAT64_is_judged_by_the_IPv4_address_it_carries_with_the_networks_own_prefixes()
    {
        var policy = OutboundAddresses.From(ConfigurationFactory.ParseString("""
            allow-networks = ["10.0.0.0/8"]
            nat64-prefixes = ["2001:db8:64::/96", "64:ff9b:1::/48"]
            """));
        Assert.True(policy.Allows(IPAddress.Parse("64:ff9b::a00:5"))); // the well-known prefix, a listed IPv4 network
        Assert.False(policy.Allows(IPAddress.Parse("64:ff9b::c0a8:101"))); // 192.168.1.1, not listed
        Assert.True(policy.Allows(IPAddress.Parse("2001:db8:64::808:808")));
        Assert.False(policy.Allows(IPAddress.Parse("2001:db8:64::a9fe:a9fe")));
        // A /48 prefix: the IPv4 address in bytes 6, 7, 9 and 10 (byte 8 stays zero, RFC 6052).
        Assert.True(policy.Allows(IPAddress.Parse("64:ff9b:1:808:8:800::")));
        Assert.False(policy.Allows(IPAddress.Parse("64:ff9b:1:a9fe:a9:fe00::")));
        Assert.False(policy.Allows(IPAddress.Parse("64:ff9b:1:c633:64:100::"))); // 198.51.100.1 (read with byte 8: 198.51.0.100, public)
        Assert.False(OutboundAddresses.PublicOnly.Allows(IPAddress.Parse("64:ff9b:1:808:8:800::"))); // a local-use prefix not listed
        Assert.False(OutboundAddresses.PublicOnly.Allows(IPAddress.Parse("2001:db8:64::808:808")));
    }

    [Theory] // RFC 6052, section 2.4: 192.0.2.33 under a prefix of each length
    [InlineData("2001:db8::/32", "2001:db8:c000:221::")]
    [InlineData("2001:db8:100::/40", "2001:db8:1c0:2:21::")]
    [InlineData("2001:db8:122::/48", "2001:db8:122:c000:2:2100::")]
    [InlineData("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::")]
    [InlineData("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0")]
    [InlineData("2001:db8:122:344::/96", "2001:db8:122:344::c000:221")]
    public void A_listed_NAT64_prefix_of_any_length_RFC_6052_names_carries_its_IPv4_address_where_the_RFC_puts_it(string prefix, string address)
    {
        OutboundAddresses Listing(string network) => OutboundAddresses.From(ConfigurationFactory.ParseString($$"""
            allow-networks = ["{{network}}"]
            nat64-prefixes = ["{{prefix}}"]
            """));
        Assert.True(Listing("192.0.2.33/32").Allows(IPAddress.Parse(address)));
        Assert.False(Listing("192.0.2.34/32").Allows(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("2001:db8:64::/50")]
    [InlineData("not-a-prefix")]
    public void A_NAT64_prefix_that_is_not_IPv6_of_a_length_RFC_6052_names_is_a_configuration_error(string prefix)
    {
        var error = Assert.Throws<ConfigurationException>(() => OutboundAddresses.From(ConfigurationFactory.ParseString($"nat64-prefixes = [\"{prefix}\"]")));
        Assert.Contains("supervisor.outbound.nat64-prefixes", error.Message);
    }

    [Fact]
    public async Task A_server_on_a_non_public_address_gets_no_call_unless_its_network_is_listed()
    {
        await using var pds = await FakePdsServer.StartAsync();
        var port = new Uri(pds.Url).Port;
        var alice = pds.CreateAccount("alice.test", "pw-alice-outbound");
        var resolve = XrpcRequest.Query("com.atproto.identity.resolveHandle", ("handle", alice.Handle));

        var publicOnly = PdsClient.Create(TimeSpan.FromSeconds(5));
        foreach (var url in new[] { pds.Url, $"http://localhost:{port}", $"http://[::ffff:127.0.0.1]:{port}" })
        {
            var refused = await publicOnly.SendAsync(url, resolve, "a-bearer-that-must-not-leave");
            Assert.Equal(XrpcError.NetworkError, refused.Error?.Error);
            Assert.Contains("non-public address, or one of this host's own, that supervisor.outbound.allow-networks does not list", refused.Error?.Message);
        }
        Assert.Equal(0, pds.CallCount("com.atproto.identity.resolveHandle"));

        var listed = PdsClient.Create(TimeSpan.FromSeconds(5), outbound: new OutboundAddresses([IPNetwork.Parse("127.0.0.1/32")]));
        Assert.Equal(200, (await listed.SendAsync(pds.Url, resolve, null)).Status);
        Assert.Equal(1, pds.CallCount("com.atproto.identity.resolveHandle"));
    }

    [Fact]
    public async Task Identity_lookups_reach_no_non_public_address_the_policy_does_not_list()
    {
        await using var plc = await FakePdsServer.StartAsync();
        var alice = plc.CreateAccount("alice.test", "pw-alice-plc");
        var settings = new IdentitySettings { PlcDirectory = plc.Url, CacheTtl = TimeSpan.Zero };

        var refused = await IdentityResolver.Create(settings).ResolveDidAsync(alice.Did);
        Assert.Equal(IdentityError.Unavailable, refused.Error);
        Assert.Contains("non-public address, or one of this host's own, that supervisor.outbound.allow-networks does not list", refused.Reason);

        var listed = await IdentityResolver.Create(settings, OutboundAddresses.WithLoopback).ResolveDidAsync(alice.Did);
        Assert.Equal(plc.Url, listed.PdsEndpoint);
    }
}
