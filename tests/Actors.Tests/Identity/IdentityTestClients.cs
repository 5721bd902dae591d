using System.Net;
using System.Net.Sockets;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>HttpClients for the identity specs, configured as IdentityResolver.Create does (no redirects).</summary>
public static class IdentityTestClients
{
    /// <summary>A plain client.</summary>
    public static HttpClient Direct() => new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// A client that connects to <paramref name="url"/>'s port on 127.0.0.1 whatever host a request names, so that
    /// <c>http://alice.test/.well-known/atproto-did</c> reaches the test server with <c>Host: alice.test</c>.
    /// </summary>
    public static HttpClient RoutedTo(string url)
    {
        var port = new Uri(url).Port;
        return new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }
}
