using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Outbound;

/// <summary>
/// An answer read whole (session calls, calls by message) is bounded: 4 MiB by default, and one byte more is an
/// InvalidResponse that names the bound, so that no server can make the supervisor hold more.
/// </summary>
public sealed class AnswerBoundsSpec
{
    private const string Nsid = "app.bsky.feed.getTimeline";

    [Fact]
    public async Task An_answer_longer_than_the_bound_is_an_InvalidResponse_and_the_default_bound_is_4_MiB()
    {
        Assert.Equal(4 * 1024 * 1024, PdsClient.Create(TimeSpan.FromSeconds(5)).MaxAnswerBytes);
        await using var pds = await FakePdsServer.StartAsync();
        var client = PdsClient.Create(TimeSpan.FromSeconds(5), maxAnswerBytes: 64 * 1024, outbound: OutboundAddresses.WithLoopback);

        var atTheBound = new byte[64 * 1024];
        Random.Shared.NextBytes(atTheBound);
        pds.AnswerWith(Nsid, atTheBound, "application/octet-stream");
        var read = await client.SendAsync(pds.Url, XrpcRequest.Query(Nsid), null);
        Assert.Equal(200, read.Status);
        Assert.Equal(atTheBound, read.Body);

        pds.AnswerWith(Nsid, new byte[64 * 1024 + 1], "application/octet-stream");
        var tooLong = await client.SendAsync(pds.Url, XrpcRequest.Query(Nsid), null);
        Assert.Equal(XrpcError.InvalidResponse, tooLong.Error?.Error);
        Assert.Contains("larger than 65536 bytes", tooLong.Error?.Message);
        Assert.Empty(tooLong.Body);
    }

    [Theory]
    [InlineData("com.atproto.server.getSession")]
    [InlineData("com.atproto.server.refreshSession")]
    [InlineData("com.atproto.server.createSession")]
    public async Task A_session_answer_is_refused_past_64_KiB_as_it_arrives_without_waiting_for_the_rest(string nsid)
    {
        await using var server = new MisbehavingServer();
        var client = PdsClient.Create(TimeSpan.FromSeconds(30), outbound: OutboundAddresses.WithLoopback);
        var request = new XrpcRequest(nsid, nsid.EndsWith("getSession", StringComparison.Ordinal) ? XrpcMethodKind.Query : XrpcMethodKind.Procedure);

        // Its length announced: refused on its head. Sent in chunks: refused once 64 KiB have come. Either way long before
        // the rest (which never comes) or the call's 30 s: a session with its DID document is a few KB.
        foreach (var mode in new[] { Misbehaviour.LongAnswerThenStall, Misbehaviour.ChunkedLongAnswerThenStall })
        {
            server.Mode = mode;
            var started = System.Diagnostics.Stopwatch.StartNew();
            var answer = await client.SendAsync(server.Url, request, null);
            Assert.Equal((XrpcError.InvalidResponse, $"{mode}: larger than 65536 bytes"),
                (answer.Error?.Error, mode + ": " + answer.Error?.Message[(answer.Error.Message.IndexOf("larger", StringComparison.Ordinal))..]));
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"{mode}: refused after {started.Elapsed.TotalSeconds:0.0} s");
        }
    }

    [Fact]
    public void An_error_name_of_128_and_a_message_of_1024_characters_are_kept_whole_and_one_character_more_is_cut()
    {
        var whole = XrpcError.FromServer(new string('E', 128), new string('m', 1_024));
        Assert.Equal((new string('E', 128), new string('m', 1_024)), (whole.Error, whole.Message));

        var cut = XrpcError.FromServer(new string('E', 129), new string('m', 1_025));
        Assert.Equal((new string('E', 128) + "…", new string('m', 1_024) + "…"), (cut.Error, cut.Message));
    }

    [Fact]
    public async Task A_servers_error_name_and_message_are_cut_to_128_and_1024_characters_while_its_body_passes_as_it_came()
    {
        await using var pds = await FakePdsServer.StartAsync();
        var client = PdsClient.Create(TimeSpan.FromSeconds(5), outbound: OutboundAddresses.WithLoopback);
        var name = new string('E', 200);
        var message = "first line\\nsecond line\\r" + new string('m', 60_000);
        var body = System.Text.Encoding.UTF8.GetBytes($$"""{"error":"{{name}}","message":"{{message}}"}""");
        pds.AnswerWith(Nsid, body, "application/json", status: 503);

        var answer = await client.SendAsync(pds.Url, XrpcRequest.Query(Nsid), null);

        Assert.Equal(503, answer.Status);
        Assert.Equal(body, answer.Body); // what a client is handed is the server's answer, byte for byte
        Assert.Equal(new string('E', XrpcError.LongestName) + "…", answer.Error?.Error);
        Assert.Equal(XrpcError.LongestMessage + 1, answer.Error?.Message.Length); // kept: an ended session journals it, statuses and events carry it
        Assert.StartsWith("first line second line mmm", answer.Error?.Message);
        Assert.EndsWith("m…", answer.Error?.Message);
    }
}
