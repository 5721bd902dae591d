using System.Net;
using System.Net.Sockets;

namespace Supervisor.Actors.Tests.Support;

/// <summary>Free TCP ports on loopback, for the servers and nodes a spec starts.</summary>
/// <remarks>
/// A port is picked now and listened on later (a host's restarts keep it), so it is taken below the kernel's ephemeral
/// range: a port there can be given meanwhile to any outgoing connection or to a listener on port 0 (remoting, the
/// browser scripts' servers), and the host's start then fails with "address already in use". Below the range only
/// another <see cref="Free"/> could pick it, and this process never hands a port out twice.
/// </remarks>
public static class LoopbackPort
{
    private const int Lowest = 10000;
    private static readonly int BelowEphemeral = EphemeralRangeStart();
    private static readonly HashSet<int> HandedOut = [];
    private static int _next = Lowest + Random.Shared.Next(BelowEphemeral - Lowest);

    /// <summary>A port no one listens on now, and that this process has not handed out before.</summary>
    public static int Free()
    {
        lock (HandedOut)
        {
            for (var tried = 0; tried < BelowEphemeral - Lowest; tried++)
            {
                var port = _next;
                _next = _next + 1 < BelowEphemeral ? _next + 1 : Lowest;
                if (HandedOut.Contains(port) || !CanListenOn(port)) continue;
                HandedOut.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port between {Lowest} and {BelowEphemeral}");
    }

    /// <summary>
    /// A free port below <paramref name="port"/> (the highest one), not handed out before: for a spec that needs an
    /// address lower than others (the split-brain resolver's tie-break).
    /// </summary>
    public static int FreeBelow(int port)
    {
        lock (HandedOut)
        {
            for (var candidate = port - 1; candidate >= Lowest; candidate--)
            {
                if (HandedOut.Contains(candidate) || !CanListenOn(candidate)) continue;
                HandedOut.Add(candidate);
                return candidate;
            }
        }
        throw new InvalidOperationException($"no free loopback port between {Lowest} and {port}");
    }

    private static bool CanListenOn(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of the kernel's ephemeral range (Linux's ip_local_port_range; 32768 where it cannot be read).</summary>
    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], out var start) && start > Lowest + 1000
            ? start
            : 32768;
    }
}
