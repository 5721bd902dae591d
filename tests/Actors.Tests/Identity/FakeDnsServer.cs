using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>How <see cref="FakeDnsServer"/> answers.</summary>
public enum DnsMode
{
    /// <summary>TXT records for the names it knows, NXDOMAIN for the others.</summary>
    Answer,

    /// <summary>A reply with the query's id and then bytes that are no DNS message.</summary>
    Malformed,

    /// <summary>No reply at all.</summary>
    Silent,
}

/// <summary>
/// A DNS server on a loopback port that answers TXT queries from a table (enough for _atproto records), over
/// UDP and, as a client falls back to after an answer it cannot use, over TCP on the same port.
/// </summary>
public sealed class FakeDnsServer : IDisposable
{
    private readonly UdpClient _udp;
    private readonly ConcurrentDictionary<string, string[]> _txt = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stopping = new();
    private int _queries;

    private readonly TcpListener _tcp;

    public FakeDnsServer()
    {
        // The port the system gives the UDP socket may be taken for TCP: try others until one is free for both.
        for (var attempt = 1; ; attempt++)
        {
            _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            _tcp = new TcpListener(IPAddress.Loopback, EndPoint.Port);
            try
            {
                _tcp.Start();
                break;
            }
            catch (SocketException) when (attempt < 20)
            {
                _udp.Dispose();
            }
        }
        _ = ServeAsync();
        _ = ServeTcpAsync();
    }

    /// <summary>Where to send queries.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    /// <summary>How the next queries are answered.</summary>
    public DnsMode Mode { get; set; } = DnsMode.Answer;

    /// <summary>How many queries arrived.</summary>
    public int Queries => _queries;

    /// <summary>The TXT records of <paramref name="name"/> (one string each).</summary>
    public void SetTxt(string name, params string[] records) => _txt[name] = records;

    private async Task ServeAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            UdpReceiveResult query;
            try
            {
                query = await _udp.ReceiveAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var reply = Reply(query.Buffer);
            if (reply is null) continue;
            try
            {
                await _udp.SendAsync(reply, query.RemoteEndPoint, _stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
        }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                using var client = await _tcp.AcceptTcpClientAsync(_stopping.Token);
                await using var stream = client.GetStream();
                var length = new byte[2];
                await stream.ReadExactlyAsync(length, _stopping.Token);
                var query = new byte[(length[0] << 8) | length[1]];
                await stream.ReadExactlyAsync(query, _stopping.Token);
                if (Reply(query) is not { } reply) continue;
                await stream.WriteAsync(new[] { (byte)(reply.Length >> 8), (byte)reply.Length }.Concat(reply).ToArray(), _stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (Exception e) when (e is SocketException or IOException or EndOfStreamException)
            {
                // the client went away: serve the next one
            }
        }
    }

    private byte[]? Reply(byte[] query)
    {
        Interlocked.Increment(ref _queries);
        return Mode switch
        {
            DnsMode.Answer => Answer(query),
            DnsMode.Malformed => query.Length >= 2 ? [query[0], query[1], 0x81, 0x80, 0, 1, 0, 9, 0xde, 0xad] : null,
            _ => null,
        };
    }

    /// <summary>The reply to one query: its question echoed, then a TXT answer per record, or NXDOMAIN.</summary>
    private byte[]? Answer(byte[] query)
    {
        if (query.Length < 12) return null;
        var labels = new List<string>();
        var at = 12;
        while (at < query.Length && query[at] != 0)
        {
            var length = query[at];
            if (at + 1 + length > query.Length) return null;
            labels.Add(Encoding.ASCII.GetString(query, at + 1, length));
            at += 1 + length;
        }
        var questionEnd = at + 5; // the terminating zero, QTYPE, QCLASS
        if (questionEnd > query.Length) return null;
        var name = string.Join('.', labels);
        var records = _txt.TryGetValue(name, out var found) ? found : null;
        var reply = new List<byte>
        {
            query[0], query[1],
            (byte)(0x84 | (query[2] & 0x01)), (byte)(0x80 | (records is null ? 3 : 0)), // QR AA RD | RA rcode
            0, 1, 0, (byte)(records?.Length ?? 0), 0, 0, 0, 0,
        };
        reply.AddRange(query.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var record in records ?? [])
        {
            var text = Encoding.UTF8.GetBytes(record);
            reply.AddRange([0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60, (byte)((text.Length + 1) >> 8), (byte)((text.Length + 1) & 0xFF), (byte)text.Length]);
            reply.AddRange(text);
        }
        return reply.ToArray();
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _udp.Dispose();
        _tcp.Stop();
    }
}
