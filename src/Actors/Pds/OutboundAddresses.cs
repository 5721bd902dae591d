using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Akka.Configuration;

namespace Supervisor.Actors.Pds;

/// <summary>
/// Which addresses the supervisor connects to on behalf of servers it does not control: every PDS, login service,
/// PLC directory, did:web host and handle's web server. Public addresses always; a non-public one (loopback, private,
/// carrier-grade NAT, link-local such as the cloud metadata service at 169.254.169.254, unspecified, multicast,
/// reserved, documentation) only inside <see cref="AllowedNetworks"/>. A DID document or a session answer names a PDS
/// freely, so without this an account's owner could point the supervisor, with its bots' requests, at the host's own
/// network and read the answers through the account's key. Checked at connect time on every address a name resolves
/// to (<see cref="ConnectAsync"/>), so a public name that resolves to a private address is refused as well.
/// Read from the HOCON section <c>supervisor.outbound</c>.
/// </summary>
public sealed class OutboundAddresses
{
    /// <summary>Only public addresses (the default of the host).</summary>
    public static readonly OutboundAddresses PublicOnly = new([]);

    /// <summary>Public addresses and loopback (the specs and benchmarks, whose servers listen on 127.0.0.1).</summary>
    public static readonly OutboundAddresses WithLoopback = new([IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")]);

    private static readonly IPNetwork[] NonPublicV4 =
    [
        .. new[]
        {
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
            "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
        }.Select(IPNetwork.Parse),
    ];

    /// <summary>The IPv6 ranges inside global unicast (2000::/3) that are not public (Teredo, benchmarking, ORCHID, documentation).</summary>
    private static readonly IPNetwork[] NonPublicGlobalV6 =
        [.. new[] { "2001::/32", "2001:2::/48", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "3fff::/20" }.Select(IPNetwork.Parse)];

    private static readonly IPNetwork GlobalUnicastV6 = IPNetwork.Parse("2000::/3");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");

    /// <summary>Policy allowing, besides public addresses, the non-public addresses inside <paramref name="allowedNetworks"/>.</summary>
    public OutboundAddresses(IReadOnlyList<IPNetwork> allowedNetworks) => AllowedNetworks = allowedNetworks;

    /// <summary>The non-public networks that may be reached anyway (an operator's own PDS on a private network).</summary>
    public IReadOnlyList<IPNetwork> AllowedNetworks { get; }

    /// <summary>
    /// Reads <c>allow-networks</c> (CIDR strings) from a <c>supervisor.outbound</c> section; missing: public only.
    /// A string that is not a CIDR network is a <see cref="ConfigurationException"/>.
    /// </summary>
    public static OutboundAddresses From(Config? section)
    {
        if (section is null || section.IsEmpty || !section.HasPath("allow-networks")) return PublicOnly;
        var networks = new List<IPNetwork>();
        foreach (var text in section.GetStringList("allow-networks"))
        {
            if (!IPNetwork.TryParse(text.Trim(), out var network))
                throw new ConfigurationException($"supervisor.outbound.allow-networks: \"{text}\" is not a network in CIDR notation (such as 10.0.0.0/8)");
            networks.Add(network);
        }
        return new OutboundAddresses(networks);
    }

    /// <summary>True when the supervisor may connect to <paramref name="address"/>.</summary>
    public bool Allows(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IsPublic(address)) return true;
        foreach (var network in AllowedNetworks)
            if (network.Contains(address) || (address.AddressFamily == AddressFamily.InterNetwork && network.Contains(address.MapToIPv6())))
                return true;
        return false;
    }

    /// <summary>True for an address reachable on the public internet (a unicast address outside every special range).</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            foreach (var network in NonPublicV4)
                if (network.Contains(address)) return false;
            return true;
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return false;
        // NAT64 (an IPv6-only host reaching IPv4 through DNS64) carries the IPv4 address in its last 32 bits: public only when that one is.
        if (Nat64.Contains(address)) return IsPublic(new IPAddress(address.GetAddressBytes().AsSpan(12, 4)));
        if (!GlobalUnicastV6.Contains(address)) return false;
        foreach (var network in NonPublicGlobalV6)
            if (network.Contains(address)) return false;
        // 6to4 carries an IPv4 address in bits 16 to 48: public only when that one is.
        if (SixToFour.Contains(address)) return IsPublic(new IPAddress(address.GetAddressBytes().AsSpan(2, 4)));
        return true;
    }

    /// <summary>
    /// The handler for servers the supervisor does not control (the PDS client's, the identity resolver's): connections
    /// only to the addresses this policy allows, no proxy (<c>HTTP_PROXY</c> and the like: through one, only the proxy's
    /// address would be checked), no redirects, no cookies, no automatic decompression; pooled connections renewed every
    /// few minutes.
    /// </summary>
    public SocketsHttpHandler CreateHandler(TimeSpan connectTimeout) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = connectTimeout,
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseProxy = false,
        ConnectCallback = ConnectAsync,
    };

    /// <summary>Why a call failed to connect, for its caller: the policy's refusal (host and setting), else the error's kind.</summary>
    public static string Reason(HttpRequestException e) =>
        e.InnerException is OutboundAddressRefusedException refused ? refused.Message : e.HttpRequestError.ToString();

    /// <summary>
    /// The <see cref="SocketsHttpHandler.ConnectCallback"/> that enforces the policy: resolves the host, keeps the addresses
    /// it <see cref="Allows"/>, connects to the first that answers; with none left, fails with an
    /// <see cref="OutboundAddressRefusedException"/> (the call ends as a network error naming the host and the setting).
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
        var allowed = Array.FindAll(addresses, Allows);
        if (allowed.Length == 0) throw new OutboundAddressRefusedException(host);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
