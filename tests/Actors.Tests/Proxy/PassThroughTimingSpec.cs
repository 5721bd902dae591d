using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// How long a request passed through may take, and what it holds meanwhile: the token goes back as soon as the answer's
/// headers are in (a long answer holds no rotation); an answer that stops midway is cut after request-timeout of
/// silence; an upload takes the time it needs while its bytes move; a buffered body comes whole within request-timeout.
/// </summary>
public sealed class PassThroughTimingSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";
    private const string ThreeSeconds = "supervisor.accounts { request-timeout = 3s }";

    [Fact]
    public async Task An_answer_that_stops_midway_holds_no_rotation_and_is_cut_after_request_timeout()
    {
        await using var host = await StartHostAsync("supervisor.accounts { request-timeout = 6s }");
        var alice = await LoggedInAsync(host, "alice.test");

        Pds.FailNext(GetSession, FakeFailure.StallMidBody);
        using var stalled = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stalled.StatusCode);
        await using var body = await stalled.Content.ReadAsStreamAsync();
        var first = new byte[1_000];
        Assert.True(await body.ReadAsync(first) > 0);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var pending = body.ReadAsync(first, patience.Token).AsTask();

        // Its headers are in: its token is back, and a rotation asked now does not wait for the rest of the answer,
        // which has not come when the rotation is done (held, it would have waited the 6 s until the answer is cut).
        var rotation = Stopwatch.StartNew();
        using (var refreshed = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.False(pending.IsCompleted, "the answer ended before the rotation");
        Assert.True(rotation.Elapsed < TimeSpan.FromSeconds(4), $"the rotation waited {rotation.Elapsed.TotalSeconds:0.0} s for the loan");

        // Nothing more comes from the PDS: after request-timeout (6 s) of silence the client's answer is cut, not left open.
        var cut = Stopwatch.StartNew();
        var rest = await Record.ExceptionAsync(async () =>
        {
            if (await pending == 0) return;
            while (await body.ReadAsync(first, patience.Token) > 0) { }
        });
        Assert.False(patience.IsCancellationRequested, "the answer was still open after 30 s");
        Assert.True(rest is IOException or HttpRequestException, $"the answer ended with {rest?.GetType().Name ?? "its end"}, not cut");
        Assert.True(cut.Elapsed < TimeSpan.FromSeconds(12), $"cut after {cut.Elapsed.TotalSeconds:0.0} s");

        // The account goes on.
        using var next = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task A_rotation_waits_for_a_request_passed_through_until_its_answer_headers_come()
    {
        await using var host = await StartHostAsync("supervisor.accounts { request-timeout = 4s }");
        var bob = await LoggedInAsync(host, "bob.test");
        const string RefreshSession = "com.atproto.server.refreshSession";
        var (calls, refreshes) = (Pds.CallCount(GetSession), Pds.CallCount(RefreshSession));

        // The request is at the PDS with the account's token, and no answer comes: the token is out.
        Pds.FailNext(GetSession, FakeFailure.Hang);
        var hung = host.Http.GetAsync($"/accounts/{bob.Did}/xrpc/{GetSession}");
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(GetSession) > calls), TimeSpan.FromSeconds(10), "the request to reach the PDS");
        var lent = Pds.LastRequestHeaders(GetSession)!["authorization"];

        var refresh = host.Http.PostAsync($"/accounts/{bob.Did}/refresh", null);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.False(refresh.IsCompleted, "the rotation did not wait for the token lent to the request");
        Assert.Equal(refreshes, Pds.CallCount(RefreshSession));

        // The request ends (request-timeout, 4 s, without an answer): its token is back, and the rotation goes, once.
        using (var timedOut = await hung) Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        using (var refreshed = await refresh) Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(refreshes + 1, Pds.CallCount(RefreshSession));
        using (var next = await host.Http.GetAsync($"/accounts/{bob.Did}/xrpc/{GetSession}")) Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.False(Pds.LastRequestHeaders(GetSession)!["authorization"] == lent, "the request after the rotation went with the token it replaced");
    }

    [Fact]
    public async Task An_answer_longer_than_request_timeout_passes_whole_while_its_bytes_move()
    {
        await using var host = await StartHostAsync(ThreeSeconds);
        var alice = await LoggedInAsync(host, "alice.test");

        // 10 parts 400 ms apart: 4 s in all, longer than request-timeout, never 3 s without a byte (a stall of a loaded
        // machine's second is not a silence of the PDS).
        Pds.FailNext(GetSession, FakeFailure.TrickleBody);
        var clock = Stopwatch.StartNew();
        using var answer = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(FakePdsServer.TrickleBody, await answer.Content.ReadAsByteArrayAsync());
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(3), $"the answer took {clock.Elapsed.TotalSeconds:0.0} s only");
    }

    [Fact]
    public async Task An_upload_longer_than_request_timeout_passes_while_its_bytes_move()
    {
        await using var host = await StartHostAsync(ThreeSeconds);
        var alice = await LoggedInAsync(host, "alice.test");

        // 10 blocks of 16 KiB, one every 400 ms: 4 s in all, longer than request-timeout, never 3 s without a byte (a
        // stall of a loaded machine's second is not a silence of the client).
        var blocks = Enumerable.Range(0, 10).Select(i => Enumerable.Repeat((byte)i, 16 * 1024).ToArray()).ToArray();
        using var upload = new SlowContent(blocks, TimeSpan.FromMilliseconds(400));
        upload.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var clock = Stopwatch.StartNew();
        using var answer = await host.Http.PostAsync($"/accounts/{alice.Did}/xrpc/com.atproto.repo.uploadBlob", upload);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"answered {(int)answer.StatusCode}: {text}");
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(3), $"the upload took {clock.Elapsed.TotalSeconds:0.0} s only");
        // The fake PDS answers the SHA-256 and the length of the bytes it received: the very bytes sent.
        var blob = JsonNode.Parse(text)!["blob"]!;
        Assert.Equal(10 * 16 * 1024, blob["size"]!.GetValue<int>());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(blocks.SelectMany(b => b).ToArray())).ToLowerInvariant(), blob["ref"]!["$link"]!.GetValue<string>());
        // Streamed, not gathered first: the PDS had the first bytes seconds before the client sent its last.
        var ahead = upload.LastBlockAt - Pds.LastUploadFirstByteAt!.Value;
        Assert.True(ahead > TimeSpan.FromSeconds(2), $"the PDS got the first byte {ahead.TotalSeconds:0.0} s before the client's last block");
    }

    [Fact]
    public async Task A_buffered_body_sent_in_part_and_then_held_is_a_408_after_request_timeout_and_never_reaches_the_PDS()
    {
        await using var host = await StartHostAsync(ThreeSeconds);
        var alice = await LoggedInAsync(host, "alice.test");

        // 100,000 of the 200,000 bytes announced at once, then nothing: Kestrel's least data rate (240 bytes a second on
        // average) would let the rest wait for minutes, the buffer and the place in flight held all along.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, host.Http.BaseAddress!.Port);
        var stream = socket.GetStream();
        var head = $"POST /accounts/{alice.Did}/xrpc/com.atproto.repo.createRecord HTTP/1.1\r\nHost: {host.Http.BaseAddress.Authority}\r\n" +
                   $"Authorization: {host.Http.DefaultRequestHeaders.Authorization}\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(Enumerable.Repeat((byte)' ', 100_000).ToArray());
        var clock = Stopwatch.StartNew();
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal("HTTP/1.1 408 Request Timeout", statusLine);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10));
        Assert.Equal(0, Pds.CallCount("com.atproto.repo.createRecord"));
    }

    [Fact]
    public async Task An_upload_of_no_announced_length_past_its_limit_gets_413_PayloadTooLarge_not_502()
    {
        await using var host = await StartHostAsync("supervisor.proxy.upload-limit = 64KiB");
        var alice = await LoggedInAsync(host, "alice.test");

        // Chunked (no Content-Length): the limit is found while the bytes stream to the PDS.
        var blocks = Enumerable.Range(0, 5).Select(i => Enumerable.Repeat((byte)i, 16 * 1024).ToArray()).ToArray();
        using var upload = new SlowContent(blocks, TimeSpan.Zero);
        upload.Headers.ContentType = new MediaTypeHeaderValue("video/mp4");
        using var answer = await host.Http.PostAsync($"/accounts/{alice.Did}/xrpc/com.atproto.repo.uploadBlob", upload);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        var error = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("PayloadTooLarge", error["error"]!.GetValue<string>());
        Assert.Contains("65536 bytes", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_uploads_token_leaves_with_its_headers_at_once_however_slowly_its_body_comes()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        const string UploadBlob = "com.atproto.repo.uploadBlob";
        // (Blocks of 64 KiB: Kestrel cuts a body slower than 240 bytes a second.)
        var body = new SlowContent([new byte[64 * 1024], new byte[64 * 1024]], TimeSpan.FromSeconds(3.5), headersFirst: true) { Headers = { ContentType = new("image/png") } };
        var sending = Stopwatch.StartNew();
        var upload = host.Http.PostAsync($"/accounts/{alice.Did}/xrpc/{UploadBlob}", body);
        // The PDS has the request (its Authorization) before the client's first block, 3.5 s away.
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.LastRequestHeaders(UploadBlob) is not null), TimeSpan.FromSeconds(2.5), "the upload's headers at the PDS");
        Assert.True(sending.Elapsed < TimeSpan.FromSeconds(3.5), $"the headers reached the PDS after {sending.Elapsed}");
        using var answer = await upload;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    /// <summary>
    /// A body of <paramref name="blocks"/> sent with <paramref name="pause"/> before each, of no announced length; with
    /// <paramref name="headersFirst"/>, the request's headers are sent at once, before the first pause.
    /// </summary>
    private sealed class SlowContent(byte[][] blocks, TimeSpan pause, bool headersFirst = false) : HttpContent
    {
        /// <summary>When the last block was written.</summary>
        public DateTimeOffset LastBlockAt { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            if (headersFirst) await stream.FlushAsync();
            foreach (var block in blocks)
            {
                await Task.Delay(pause);
                LastBlockAt = DateTimeOffset.UtcNow;
                await stream.WriteAsync(block);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
