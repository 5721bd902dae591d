using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.FakePds;

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
}
