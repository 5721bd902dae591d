using Supervisor.Actors.Account;
using Supervisor.Actors.Protocol;

namespace Supervisor.Actors.Tests.Account;

/// <summary>The in-memory tally behind the account gauges: each account counted once, in its last reported state.</summary>
public sealed class AccountTallySpec
{
    [Fact]
    public void A_state_change_moves_the_account_from_its_old_state_to_its_new_one()
    {
        var tally = new AccountTally();
        tally.Report("did:plc:a", AccountStateName.Active, 0);
        tally.Report("did:plc:b", AccountStateName.Active, 0);
        tally.Report("did:plc:a", AccountStateName.Degraded, 0);
        tally.Report("did:plc:a", AccountStateName.Degraded, 0);

        Assert.Equal((1, 1), (tally.InState(AccountStateName.Active), tally.InState(AccountStateName.Degraded)));
    }

    [Fact]
    public void An_account_the_registry_lists_counts_as_recovering_until_it_reports_and_never_twice()
    {
        var tally = new AccountTally();
        tally.Recovering("did:plc:a");
        tally.Recovering("did:plc:b");
        Assert.Equal(2, tally.InState(AccountStateName.Recovering));

        tally.Report("did:plc:a", AccountStateName.Active, 0);
        tally.Recovering("did:plc:a");
        Assert.Equal((1, 1), (tally.InState(AccountStateName.Recovering), tally.InState(AccountStateName.Active)));
    }

    [Fact]
    public void A_passivated_account_keeps_its_state_and_stops_being_passivated_when_its_actor_starts()
    {
        var tally = new AccountTally();
        tally.Started("did:plc:a");
        tally.Report("did:plc:a", AccountStateName.Active, 0);
        tally.Stopped("did:plc:a", passivated: true);
        Assert.Equal((0, 1, 1), (tally.Running, tally.Passivated, tally.InState(AccountStateName.Active)));

        tally.Started("did:plc:a");
        tally.Stopped("did:plc:a", passivated: false);
        tally.Started("did:plc:a");
        Assert.Equal((1, 0), (tally.Running, tally.Passivated));
    }

    [Fact]
    public void Held_events_are_summed_over_accounts_with_each_accounts_latest_count()
    {
        var tally = new AccountTally();
        tally.Report("did:plc:a", AccountStateName.Active, 2);
        tally.Report("did:plc:b", AccountStateName.Active, 1);
        tally.Report("did:plc:a", AccountStateName.Active, 3);
        Assert.Equal(4, tally.Unjournaled);
        tally.Report("did:plc:a", AccountStateName.Active, 0);
        Assert.Equal(1, tally.Unjournaled);
    }
}
