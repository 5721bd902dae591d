using System.Diagnostics;
using System.Net;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// A request's borrow goes straight to the account that lent for the last request of the same DID; when that account has
/// stopped since (rested, logged out), the borrow is answered from the dead letters and goes the long way, at once: no
/// request waits out a timeout for an account that is gone.
/// </summary>
public sealed class BorrowRouteSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";

    [Fact]
    public async Task Requests_for_an_account_that_rested_between_them_are_answered_at_once_by_its_new_start()
    {
        await using var host = await StartHostAsync("supervisor.accounts { active-window = 1s, passivate-after = 300ms, request-timeout = 20s }");
        var alice = await LoggedInAsync(host, "alice.test");

        for (var round = 1; round <= 3; round++)
        {
            // Twice while it runs (the second borrow goes to the account that lent the first), then it rests.
            for (var call = 0; call < 2; call++)
            {
                var clock = Stopwatch.StartNew();
                using var answer = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"round {round}: answered after {clock.Elapsed.TotalSeconds:0.0} s"); // not request-timeout (20 s)
            }
            await RestedAsync(host);
        }
        Assert.Equal(6, Pds.CallCount(GetSession));

        // Logged out since its last request: refused at once, as an account without a session is.
        (await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")).EnsureSuccessStatusCode();
        (await host.Http.DeleteAsync($"/accounts/{alice.Did}")).EnsureSuccessStatusCode();
        var refused = Stopwatch.StartNew();
        using var afterLogout = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.NotEqual(HttpStatusCode.OK, afterLogout.StatusCode);
        Assert.NotEqual(HttpStatusCode.GatewayTimeout, afterLogout.StatusCode);
        Assert.True(refused.Elapsed < TimeSpan.FromSeconds(5), $"refused after {refused.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task A_loan_made_after_its_request_stopped_waiting_goes_back_at_once_and_holds_no_rotation()
    {
        await using var host = await StartHostAsync("supervisor.accounts { request-timeout = 2s }");
        var alice = await LoggedInAsync(host, "alice.test");
        (await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")).EnsureSuccessStatusCode(); // its lender is known here now

        // A request the PDS never answers holds its loan until request-timeout; a refresh asked meanwhile waits for it, then
        // takes 1.5 s at the PDS. A request that borrows meanwhile is held through both, past its own request-timeout: it
        // asks again the long way, and the account lends twice once the refresh is done, to the request and to the borrow
        // it stopped waiting for.
        Pds.FailNext(GetSession, FakeFailure.Hang);
        var hung = host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        await Task.Delay(300);
        Pds.RefreshLatency = TimeSpan.FromSeconds(1.5);
        var slowRefresh = host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null);
        await Task.Delay(200);
        using (var held = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}"))
            Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await hung).StatusCode);
        (await slowRefresh).EnsureSuccessStatusCode();

        // The loan nobody waited for went back at once: the next rotation does not wait out its time (request-timeout + 5 s).
        Pds.RefreshLatency = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        (await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)).EnsureSuccessStatusCode();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the rotation waited {clock.Elapsed.TotalSeconds:0.0} s for a loan"); // not 7 s
    }
}
