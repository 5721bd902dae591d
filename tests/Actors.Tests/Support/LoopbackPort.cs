using System.Net;
using System.Net.Sockets;

namespace Supervisor.Actors.Tests.Support;

/// <summary>Free TCP ports on loopback, for the servers and nodes a spec starts.</summary>
public static class LoopbackPort
{
    /// <summary>A port no one listens on now (the OS picks it).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
