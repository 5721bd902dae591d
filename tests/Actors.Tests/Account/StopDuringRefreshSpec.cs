using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// An account asked to stop (its shard handed over) waits for a refresh in flight, at most request-timeout and 5 s; when
/// the refresh outlasts that, those waiting for it are told to ask again (the next run answers them), not left to wait
/// out their own timeout. (Calls wait up to 15 s here.)
/// </summary>
public sealed class StopDuringRefreshSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.request-timeout = 15s")
{
    [Fact]
    public async Task A_refresh_that_outlasts_its_accounts_stop_tells_those_waiting_for_it_to_ask_again()
    {
        var alice = await LoggedInAsync();
        // A token lent and not given back holds the rotation until the loan expires (request-timeout and a little), then
        // the PDS holds the refresh: together longer than the account's stop waits.
        Assert.IsType<AccessTokenLent>(await AskAsync(new BorrowAccessToken(alice.Did, "com.atproto.repo.createRecord")));
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.HeldUntilReleased);
        Accounts.Tell(new RefreshNow(alice.Did), TestActor);
        var account = await Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(alice.Did)).ResolveOne(TimeSpan.FromSeconds(5));
        account.Tell(StopAccount.Instance);

        Assert.Equal(alice.Did, ExpectMsg<AccountMoved>(TimeSpan.FromSeconds(40)).AccountId);
        Pds.ReleaseHeldAnswers();
    }
}
