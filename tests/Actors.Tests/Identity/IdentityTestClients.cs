using System.Net;
using System.Net.Sockets;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>HttpClients for the identity specs, configured as IdentityResolver.Create does (no redirects).</summary>
public static class IdentityTestClients
{
    /// <summary>A plain client.</summary>
    public static HttpClient Direct() => new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// A client that reaches no server: it adds each request's URL to <paramref name="requests"/> and answers it with
    /// <paramref name="answer"/>'s text (200), so that a spec sees which scheme and host a public name is asked at.
    /// </summary>
    public static HttpClient Recording(List<Uri> requests, Func<Uri, string> answer) =>
        new(new RecordingHandler(requests, answer)) { Timeout = Timeout.InfiniteTimeSpan };

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

    private sealed class RecordingHandler(List<Uri> requests, Func<Uri, string> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var url = request.RequestUri!;
            lock (requests) requests.Add(url);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer(url)) });
        }
    }
}
