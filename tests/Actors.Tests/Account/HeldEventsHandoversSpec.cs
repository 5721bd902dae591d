using Supervisor.Actors.Account;
using static Supervisor.Actors.Account.AccountEvents;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// What a run stopped by a failed write leaves for the account's next run on the node: taken once, by a run that recovered
/// as far as the journal was at the failure; stale (dropped) for a run that recovered further.
/// </summary>
public sealed class HeldEventsHandoversSpec
{
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    private static readonly HeldEventsHandover Handover = new(Did, [new RefreshStarted(DateTimeOffset.UnixEpoch)]);

    [Fact]
    public void A_run_that_recovered_as_far_as_the_journal_was_at_the_failure_takes_what_was_left_once()
    {
        var handovers = new HeldEventsHandovers();
        handovers.Leave(Handover, journaledTo: 7, DateTimeOffset.UnixEpoch);
        Assert.Same(Handover, handovers.Take(Did, recoveredTo: 7, out var stale));
        Assert.False(stale);
        Assert.Null(handovers.Take(Did, 7, out _));
        Assert.Equal(0, handovers.Count);
    }

    [Fact]
    public void What_was_left_for_a_run_that_never_came_is_dropped_after_a_day_when_another_account_leaves_some()
    {
        var handovers = new HeldEventsHandovers();
        handovers.Leave(Handover, journaledTo: 7, DateTimeOffset.UnixEpoch);
        handovers.Leave(Handover with { Did = "did:plc:other" }, 3, DateTimeOffset.UnixEpoch + HeldEventsHandovers.KeptFor);
        Assert.Equal(2, handovers.Count);
        handovers.Leave(Handover with { Did = "did:plc:third" }, 3, DateTimeOffset.UnixEpoch + HeldEventsHandovers.KeptFor + TimeSpan.FromSeconds(1));
        Assert.Null(handovers.Take(Did, 7, out _));
        Assert.Equal(2, handovers.Count);
    }

    [Fact]
    public void A_run_that_recovered_further_finds_what_was_left_stale_and_it_is_dropped()
    {
        var handovers = new HeldEventsHandovers();
        handovers.Leave(Handover, journaledTo: 7, DateTimeOffset.UnixEpoch);
        Assert.Null(handovers.Take(Did, recoveredTo: 8, out var stale));
        Assert.True(stale);
        Assert.Equal(0, handovers.Count);
        Assert.Null(handovers.Take("did:plc:other", 0, out stale));
        Assert.False(stale);
    }
}
