using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// The README's "a rotated pair is journaled before anything else sees it": while the write of a refresh's new pair is
/// held, no loan, export or session event carries it; once written, all do. (Two things keep it so: Persist holds the
/// account's messages until the write is done, and the refresh's behaviour holds borrows and exports until it ends.)
/// </summary>
[Collection(FailingJournalCollection.Name)]
public sealed class JournaledBeforeSeenSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output, FailingJournal.Config)
{
    public override async Task DisposeAsync()
    {
        FailingJournal.ReleaseHeldWrites();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_refreshed_pair_is_neither_lent_nor_exported_nor_announced_until_its_write_is_done()
    {
        var alice = await LoggedInAsync();
        var old = Assert.IsType<AccessTokenLent>(await AskAsync(new BorrowAccessToken(alice.Did, GetSession.Nsid)));
        Accounts.Tell(new ReturnAccessToken(alice.Did, old.LoanId, 200));
        var events = CreateTestProbe();
        // (The login's own event may reach the new subscriber late, on a busy machine: only refreshes count here.)
        events.IgnoreMessages<SessionEvent>(e => e.Kind != SessionEventKind.Refresh);
        await AskAsync(new SubscribeSessionEvents(events.Ref, alice.Did, IncludeTokens: true));
        await Task.Delay(1100); // the new pair's tokens differ from the old ones (issued in another second)

        FailingJournal.HoldWrites(nameof(AccountEvents.SessionRefreshed));
        var refreshed = AskAsync(new RefreshNow(alice.Did));
        await FailingJournal.WriteHeld.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the PDS has answered with the new pair

        // Meanwhile whatever is answered carries the old pair (or nothing is answered yet).
        var borrowed = Accounts.Ask<object>(new BorrowAccessToken(alice.Did, GetSession.Nsid), TimeSpan.FromSeconds(30));
        var exported = Accounts.Ask<object>(new ExportSession(alice.Did, SessionFormat.Json), TimeSpan.FromSeconds(30));
        await Task.WhenAny(Task.WhenAll(borrowed, exported), Task.Delay(1000));
        if (borrowed.IsCompletedSuccessfully) Assert.True(Assert.IsType<AccessTokenLent>(await borrowed).AccessJwt == old.AccessJwt, "a loan carried the unwritten pair");
        if (exported.IsCompletedSuccessfully)
            Assert.True(Assert.IsType<SessionExported>(await exported).Session.Contains(old.AccessJwt, StringComparison.Ordinal), "an export carried the unwritten pair");
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.False(refreshed.IsCompleted, "the refresh was answered before its pair was written");

        FailingJournal.ReleaseHeldWrites();
        Assert.IsType<RefreshCompleted>(await refreshed);
        var announced = events.ExpectMsg<SessionEvent>();
        Assert.Equal(SessionEventKind.Refresh, announced.Kind);
        var fresh = announced.Session!.Tokens.AccessJwt;
        Assert.True(fresh != old.AccessJwt, "the refresh brought a new access token");
        if (!borrowed.IsCompletedSuccessfully)
            Assert.True(Assert.IsType<AccessTokenLent>(await borrowed).AccessJwt == fresh, "the loan after the write has the new pair");
        if (!exported.IsCompletedSuccessfully)
            Assert.True(Assert.IsType<SessionExported>(await exported).Session.Contains(fresh, StringComparison.Ordinal), "the export after the write has the new pair");
    }
}
