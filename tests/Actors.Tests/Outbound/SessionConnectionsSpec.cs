using System.Diagnostics;
using System.Net;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Outbound;

/// <summary>
/// The session methods (login, refresh, logout) have connections of their own: requests passed through to a server
/// (slow downloads, stalled answers, each holding a connection for as long as it lasts) can take every connection
/// <c>max-connections-per-server</c> allows to it, and its accounts still refresh at once.
/// </summary>
public sealed class SessionConnectionsSpec : FakePdsHostSpec
{
    private const string Timeline = "app.bsky.feed.getTimeline";

    [Fact]
    public async Task A_refresh_goes_out_at_once_while_slow_downloads_hold_every_connection_to_the_server()
    {
        await using var host = await StartHostAsync("""
            supervisor.outbound.max-connections-per-server = 2
            supervisor.accounts.request-timeout = 8s
            """);
        var alice = await LoggedInAsync(host, "alice.test");
        var refreshes = Pds.CallCount("com.atproto.server.refreshSession");

        // Two answers whose bytes keep coming (a slow download: their headers are in, their tokens back) hold both
        // connections to the server.
        Pds.FailNext(Timeline, FakeFailure.TrickleUntilReleased, times: 2);
        var downloads = Enumerable.Range(0, 2).Select(_ => host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{Timeline}")).ToList();
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(Timeline) == 2), TimeSpan.FromSeconds(5), "two downloads under way");
        await Task.Delay(500);

        var clock = Stopwatch.StartNew();
        using (var refreshed = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the refresh took {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(refreshes + 1, Pds.CallCount("com.atproto.server.refreshSession"));

        Pds.ReleaseHeldAnswers();
        foreach (var download in downloads)
            using (var answer = await download) Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }
}
