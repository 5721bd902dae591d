using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>An account holding events it could not journal (a journal outage) does not passivate, however idle it is.</summary>
[Collection(FailingJournalCollection.Name)]
public sealed class JournalOutagePassivationSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output, FailingJournal.Config + """

    supervisor.accounts { journal-probe-interval = 200ms, passivate-after = 300ms, active-window = 3s }
    """)
{
    public override async Task DisposeAsync()
    {
        FailingJournal.FailWrites = false;
        FailingJournal.FailReads = false;
        await base.DisposeAsync();
    }

    [Fact]
    public async Task An_account_holding_events_during_a_journal_outage_never_passivates()
    {
        var alice = await LoggedInAsync();
        // A request keeps it running (active) while the outage begins; then only the held events do.
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        var activeUntil = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        FailingJournal.FailReads = true;
        FailingJournal.FailWrites = true;
        await EventuallyAsync(() => Task.FromResult(!JournalHealth.IsAvailable), TimeSpan.FromSeconds(5), "the outage to be seen");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.True((await StatusAsync(alice.Did)).UnjournaledEvents > 0);

        // Past the active window, through five passivation checks: it keeps running.
        while (DateTime.UtcNow < activeUntil + TimeSpan.FromSeconds(1.5))
        {
            Assert.Equal(new SupervisorCounts(1, 1, 0), Assert.IsType<SupervisorCounts>(await AskAsync(GetSupervisorCounts.Instance)));
            await Task.Delay(50);
        }
        var held = await StatusAsync(alice.Did);
        Assert.Equal((AccountStateName.Active, 1), (held.State, held.RefreshCount));
        Assert.True(held.UnjournaledEvents > 0);
    }
}
