using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Supervisor.Actors.Tests.Support;

/// <summary>The ways <see cref="MisbehavingServer"/> answers a request.</summary>
public enum Misbehaviour
{
    /// <summary>Reads the request and never answers.</summary>
    Hang,

    /// <summary>Sends a status line and then one header byte a second, never finishing.</summary>
    Trickle,

    /// <summary>Answers bytes that are not HTTP at all, then closes.</summary>
    Garbage,

    /// <summary>Promises 100 bytes of JSON, sends 8, then closes.</summary>
    TruncatedBody,

    /// <summary>Resets the connection (RST) as soon as the request arrives.</summary>
    Reset,

    /// <summary>A well-formed 200 with an HTML page, as a captive portal or a misrouted proxy answers.</summary>
    Html,

    /// <summary>Waits a second, then answers 500 with the PDS's JSON error.</summary>
    Slow500,

    /// <summary>
    /// Answers with a head that is not HTTP: the request's own Authorization value as its status line, and as a header
    /// line of its own, as a broken debugging proxy that reflects the request might (.NET quotes such lines in its errors).
    /// </summary>
    EchoAuthorization,

    /// <summary>Promises a 1 MiB JSON answer in its Content-Length, sends 16 KiB of it, then stalls.</summary>
    LongAnswerThenStall,

    /// <summary>Sends a 1 MiB JSON answer in chunks (no length announced) fast, then stalls before its end.</summary>
    ChunkedLongAnswerThenStall,
}

/// <summary>
/// A deliberately misbehaving HTTP server on a loopback port, written on raw sockets so that it can break
/// the protocol in ways a real web server never would.
/// </summary>
public sealed class MisbehavingServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;

    public MisbehavingServer()
    {
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    public string Url { get; }

    /// <summary>How the next requests are answered.</summary>
    public Misbehaviour Mode { get; set; } = Misbehaviour.Hang;

    /// <summary>How many requests have arrived (their heads read) so far.</summary>
    public int RequestsReceived => Volatile.Read(ref _received);

    private int _received;

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = AnswerAsync(client, Mode);
        }
    }

    private async Task AnswerAsync(TcpClient client, Misbehaviour mode)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            var head = await ReadRequestHeadAsync(stream);
            Interlocked.Increment(ref _received);
            switch (mode)
            {
                case Misbehaviour.Hang:
                    await Task.Delay(Timeout.Infinite, _stopping.Token);
                    break;
                case Misbehaviour.Trickle:
                    await WriteAsync(stream, "HTTP/1.1 200 OK\r\n");
                    while (!_stopping.IsCancellationRequested)
                    {
                        await WriteAsync(stream, "X");
                        await Task.Delay(1000, _stopping.Token);
                    }
                    break;
                case Misbehaviour.Garbage:
                    await WriteAsync(stream, "this is not HTTP at all\r\n\r\n\u0001\u0002");
                    break;
                case Misbehaviour.TruncatedBody:
                    await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"did\":\"");
                    break;
                case Misbehaviour.Reset:
                    client.Client.LingerState = new LingerOption(true, 0);
                    break;
                case Misbehaviour.Html:
                    await WriteAsync(stream, Response(200, "text/html", "<html><body>Welcome to the hotel network</body></html>"));
                    break;
                case Misbehaviour.Slow500:
                    await Task.Delay(1000, _stopping.Token);
                    await WriteAsync(stream, Response(500, "application/json", """{"error":"InternalServerError","message":"Internal Server Error"}"""));
                    break;
                case Misbehaviour.LongAnswerThenStall:
                    await WriteAsync(stream, $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {1024 * 1024}\r\n\r\n{{\"pad\":\"" + new string('x', 16 * 1024));
                    await Task.Delay(Timeout.Infinite, _stopping.Token);
                    break;
                case Misbehaviour.ChunkedLongAnswerThenStall:
                    await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                    for (var i = 0; i < 64; i++) await WriteAsync(stream, $"4000\r\n{new string('x', 0x4000)}\r\n");
                    await Task.Delay(Timeout.Infinite, _stopping.Token);
                    break;
                case Misbehaviour.EchoAuthorization:
                    var authorization = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))?[14..].Trim() ?? "";
                    await WriteAsync(stream, $"{authorization}\r\n{authorization}\r\n\r\n");
                    break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // the client gave up, or the server stops
        }
    }

    private static string Response(int status, string contentType, string body) =>
        $"HTTP/1.1 {status} X\r\nContent-Type: {contentType}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    private static async Task WriteAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await stream.FlushAsync();
    }

    /// <summary>Reads up to the blank line that ends the request's head (a body, if any, is left unread), and returns it.</summary>
    private async Task<string> ReadRequestHeadAsync(NetworkStream stream)
    {
        var seen = new StringBuilder();
        var buffer = new byte[1024];
        while (!seen.ToString().Contains("\r\n\r\n"))
        {
            var read = await stream.ReadAsync(buffer, _stopping.Token);
            if (read == 0) break;
            seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        return seen.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
    }
}
