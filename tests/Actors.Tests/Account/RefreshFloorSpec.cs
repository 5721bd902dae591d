using Akka.Actor;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// The floor of scheduled refreshes (<c>min-refresh-interval</c>, a minute by default) sets the pace of a PDS whose
/// tokens live seconds; it never holds up a request whose token has expired, which refreshes it at once.
/// </summary>
public sealed class RefreshFloorSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { min-refresh-interval = 1m }")
{
    private const string Refresh = "com.atproto.server.refreshSession";

    [Fact]
    public async Task A_request_that_finds_its_token_expired_refreshes_it_at_once_under_the_floor_of_scheduled_refreshes()
    {
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(3);
        var alice = await LoggedInAsync();
        await Task.Delay(3500); // expired; the scheduled refresh waits for the floor (a minute after the pair came)
        Assert.Equal(0, Pds.CallCount(Refresh));

        var started = DateTime.UtcNow;
        var answer = Assert.IsType<XrpcResponse>(await Accounts.Ask<object>(new CallXrpc(alice.Did, XrpcRequest.Query("com.atproto.server.getSession")), TimeSpan.FromSeconds(10)));
        Assert.Equal(200, answer.Status);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "the request waited for the floor");
        Assert.Equal(1, Pds.CallCount(Refresh));
    }
}
