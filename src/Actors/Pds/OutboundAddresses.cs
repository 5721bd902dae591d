using System.Net;
using System.Net.Http;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Akka.Configuration;

namespace Supervisor.Actors.Pds;

/// <summary>
/// Which addresses the supervisor connects to on behalf of servers it does not control: every PDS, login service,
/// PLC directory, did:web host and handle's web server. Public addresses always; a non-public one (loopback, private,
/// carrier-grade NAT, link-local such as the cloud metadata service at 169.254.169.254, unspecified, multicast,
/// reserved, documentation) only inside <see cref="AllowedNetworks"/>; and never, unless listed, an address of the host's
/// own network interfaces (a public one included: a service bound to every interface answers on it). A DID document or
/// a session answer names a PDS freely, so without this an account's owner could point the supervisor, with its bots'
/// requests, at the host's own network and read the answers through the account's key. Checked at connect time on
/// every address a name resolves to (<see cref="ConnectAsync"/>), so a public name that resolves to a private address
/// is refused as well. An IPv6 address that carries an IPv4 one (NAT64 with the well-known or a listed prefix, 6to4)
/// is judged by the IPv4 address it carries. Read from the HOCON section <c>supervisor.outbound</c>.
/// </summary>
public sealed class OutboundAddresses
{
    /// <summary>How long the host's own addresses are reused before they are read again (an address may come and go).</summary>
    private static readonly TimeSpan OwnAddressesAge = TimeSpan.FromSeconds(30);

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

    /// <summary>
    /// The well-known NAT64 prefix (RFC 6052). The local-use range 64:ff9b:1::/48 (RFC 8215) holds prefixes of a length
    /// only their network knows, so its addresses are refused unless their prefix is listed in <c>nat64-prefixes</c>.
    /// </summary>
    private static readonly IPNetwork[] WellKnownNat64 = [IPNetwork.Parse("64:ff9b::/96")];

    /// <summary>Only public addresses (the default of the host). Below the ranges: static fields are set in the order written.</summary>
    public static readonly OutboundAddresses PublicOnly = new([]);

    /// <summary>Public addresses and loopback (the specs and benchmarks, whose servers listen on 127.0.0.1).</summary>
    public static readonly OutboundAddresses WithLoopback = new([IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")]);

    private readonly Func<IEnumerable<IPAddress>> _readOwnAddresses;
    private OwnAddresses? _ownAddresses;

    /// <summary>
    /// Policy allowing, besides public addresses that are not the host's own, the addresses inside
    /// <paramref name="allowedNetworks"/>; <paramref name="nat64Prefixes"/> are the network's own NAT64 prefixes besides
    /// the well-known one; <paramref name="ownAddresses"/> reads the host's addresses (its network interfaces' by default).
    /// </summary>
    public OutboundAddresses(IReadOnlyList<IPNetwork> allowedNetworks, IReadOnlyList<IPNetwork>? nat64Prefixes = null, Func<IEnumerable<IPAddress>>? ownAddresses = null)
    {
        AllowedNetworks = allowedNetworks;
        Nat64Prefixes = [.. WellKnownNat64, .. nat64Prefixes ?? []];
        _readOwnAddresses = ownAddresses ?? InterfaceAddresses;
    }

    /// <summary>The networks that may be reached even when not public or the host's own (an operator's own PDS on a private network).</summary>
    public IReadOnlyList<IPNetwork> AllowedNetworks { get; }

    /// <summary>
    /// The most connections open to one server at once; calls beyond them wait for one (within their own deadline), so a
    /// slow or stalling server ties up this many sockets at most, whatever the number of its accounts' calls.
    /// </summary>
    public int MaxConnectionsPerServer { get; init; } = DefaultMaxConnectionsPerServer;

    /// <summary>The default of <see cref="MaxConnectionsPerServer"/> (<c>supervisor.outbound.max-connections-per-server</c>).</summary>
    public const int DefaultMaxConnectionsPerServer = 512;

    /// <summary>The NAT64 prefixes whose addresses are judged by the IPv4 address they carry: the well-known one and the listed ones.</summary>
    public IReadOnlyList<IPNetwork> Nat64Prefixes { get; }

    /// <summary>
    /// Reads <c>allow-networks</c> and <c>nat64-prefixes</c> (CIDR strings) from a <c>supervisor.outbound</c> section;
    /// missing: public only. A string that is not a CIDR network, or a NAT64 prefix that is not IPv6 of length 32, 40, 48,
    /// 56, 64 or 96 (RFC 6052), is a <see cref="ConfigurationException"/>.
    /// </summary>
    public static OutboundAddresses From(Config? section)
    {
        if (section is null || section.IsEmpty) return PublicOnly;
        var prefixes = Networks(section, "nat64-prefixes");
        foreach (var prefix in prefixes)
            if (prefix.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6 || prefix.PrefixLength is not (32 or 40 or 48 or 56 or 64 or 96))
                throw new ConfigurationException($"supervisor.outbound.nat64-prefixes: \"{prefix}\" is not a NAT64 prefix (IPv6, of length 32, 40, 48, 56, 64 or 96)");
        var connections = section.GetInt("max-connections-per-server", DefaultMaxConnectionsPerServer);
        if (connections < 1) throw new ConfigurationException($"supervisor.outbound.max-connections-per-server must be at least 1 (it is {connections})");
        return new OutboundAddresses(Networks(section, "allow-networks"), prefixes) { MaxConnectionsPerServer = connections };
    }

    private static List<IPNetwork> Networks(Config section, string key)
    {
        var networks = new List<IPNetwork>();
        if (!section.HasPath(key)) return networks;
        foreach (var text in section.GetStringList(key))
        {
            if (!IPNetwork.TryParse(text.Trim(), out var network))
                throw new ConfigurationException($"supervisor.outbound.{key}: \"{text}\" is not a network in CIDR notation (such as 10.0.0.0/8)");
            networks.Add(network);
        }
        return networks;
    }

    /// <summary>True when the supervisor may connect to <paramref name="address"/>.</summary>
    public bool Allows(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var network in AllowedNetworks)
            if (network.Contains(address) || (address.AddressFamily == AddressFamily.InterNetwork && network.Contains(address.MapToIPv6())))
                return true;
        if (IsOwn(address)) return false;
        return CarriedIPv4(address, Nat64Prefixes) is { } carried ? Allows(carried) : IsPublic(address);
    }

    /// <summary>
    /// True for an address reachable on the public internet (a unicast address outside every special range; one that
    /// carries an IPv4 address by a well-known NAT64 prefix or 6to4 when that one is).
    /// </summary>
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
        if (CarriedIPv4(address, WellKnownNat64) is { } carried) return IsPublic(carried);
        if (!GlobalUnicastV6.Contains(address)) return false;
        foreach (var network in NonPublicGlobalV6)
            if (network.Contains(address)) return false;
        return true;
    }

    /// <summary>
    /// The IPv4 address an IPv6 one carries: NAT64 with one of <paramref name="nat64Prefixes"/> (placed after the prefix,
    /// skipping bits 64 to 71, RFC 6052) or 6to4 (bits 16 to 48); null for any other address.
    /// </summary>
    private static IPAddress? CarriedIPv4(IPAddress address, IReadOnlyList<IPNetwork> nat64Prefixes)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return null;
        var bytes = address.GetAddressBytes();
        if (SixToFour.Contains(address)) return new IPAddress(bytes.AsSpan(2, 4));
        foreach (var prefix in nat64Prefixes)
        {
            if (!prefix.Contains(address)) continue;
            Span<byte> v4 = stackalloc byte[4];
            for (int i = 0, at = prefix.PrefixLength / 8; i < 4; i++, at++)
            {
                if (at == 8) at++;
                v4[i] = bytes[at];
            }
            return new IPAddress(v4);
        }
        return null;
    }

    /// <summary>True for an address of the host's own network interfaces (read again every <see cref="OwnAddressesAge"/>).</summary>
    private bool IsOwn(IPAddress address)
    {
        var now = Environment.TickCount64;
        if (_ownAddresses is not { } own || now - own.ReadAt > OwnAddressesAge.TotalMilliseconds)
            _ownAddresses = own = new OwnAddresses([.. _readOwnAddresses().Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a)], now);
        return own.Addresses.Contains(address);
    }

    /// <summary>The host's addresses as read at <paramref name="ReadAt"/> (<see cref="Environment.TickCount64"/>); replaced whole, never changed.</summary>
    private sealed record OwnAddresses(HashSet<IPAddress> Addresses, long ReadAt);

    /// <summary>The addresses of the host's network interfaces; none when they cannot be read.</summary>
    internal static IEnumerable<IPAddress> InterfaceAddresses()
    {
        try
        {
            return [.. NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(u => u.Address)];
        }
        catch (NetworkInformationException)
        {
            // Rare (Linux reads them from /proc and netlink); loopback and private addresses stay refused all the same, and
            // the interfaces are read again at the next connection after OwnAddressesAge.
            return [];
        }
    }

    /// <summary>
    /// The handler for servers the supervisor does not control (the PDS client's, the identity resolver's): connections
    /// only to the addresses this policy allows, no proxy (<c>HTTP_PROXY</c> and the like: through one, only the proxy's
    /// address would be checked), no redirects, no cookies, no automatic decompression; pooled connections renewed every
    /// few minutes; at most <see cref="MaxConnectionsPerServer"/> to one server.
    /// </summary>
    public SocketsHttpHandler CreateHandler(TimeSpan connectTimeout) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = connectTimeout,
        MaxConnectionsPerServer = MaxConnectionsPerServer,
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
