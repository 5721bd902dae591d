using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Supervisor.Actors.Tests.Support;

/// <summary>A reader of /events: every line it read, and the events and comments in them.</summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpClient http, HttpResponseMessage response, StreamReader reader)
    {
        _http = http;
        _response = response;
        _reader = reader;
    }

    public List<string> Lines { get; } = new();

    public List<string> Comments { get; } = new();

    /// <summary>
    /// Opens <paramref name="path"/> as <paramref name="bearer"/> (the admin when null); with <paramref name="receiveBuffer"/>,
    /// the connection's socket takes that many bytes at most before the host must wait (a slow reader's small window), in
    /// segments of 536 bytes (as over the Internet; loopback's 64 KiB would let the host's socket buffer megabytes).
    /// </summary>
    public static async Task<SseReader> OpenAsync(SupervisorProcess host, string path, string? bearer = null, string? lastEventId = null, int? receiveBuffer = null)
    {
        var handler = new SocketsHttpHandler();
        if (receiveBuffer is { } size)
            handler.ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = size };
                socket.SetRawSocketOption(6 /* IPPROTO_TCP */, 2 /* TCP_MAXSEG */, BitConverter.GetBytes(536));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            };
        var http = new HttpClient(handler) { BaseAddress = host.Http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer ?? host.AdminToken);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoStore);
        return new SseReader(http, response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next event (comments are kept aside).</summary>
    public async Task<Sse> NextAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? id = null, name = null, data = null;
        while (true)
        {
            var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the event stream ended");
            Lines.Add(line);
            if (line.StartsWith(':')) Comments.Add(line);
            else if (line.StartsWith("id: ")) id = line["id: ".Length..];
            else if (line.StartsWith("event: ")) name = line["event: ".Length..];
            else if (line.StartsWith("data: ")) data = line["data: ".Length..];
            else if (line.Length == 0 && data is not null) return new Sse(id!, name!, JsonDocument.Parse(data).RootElement.Clone());
        }
    }

    /// <summary>The next comment line (events before it are read and kept in <see cref="Lines"/>).</summary>
    public async Task<string> NextCommentAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        while (true)
        {
            var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the event stream ended");
            Lines.Add(line);
            if (!line.StartsWith(':')) continue;
            Comments.Add(line);
            return line;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _http.Dispose();
        await Task.CompletedTask;
    }
}
