using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// An account acts on the wake of the refresh time it set last only: the node's clock is not ordered with its mailbox,
/// so the wake of a time it has since replaced or cancelled can still reach it.
/// </summary>
public sealed class RefreshWakeSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    [Fact]
    public async Task The_wake_of_a_time_the_account_no_longer_holds_starts_no_refresh_and_a_replay_does()
    {
        var alice = await LoggedInAsync("wake.test");
        var account = await Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(alice.Did)).ResolveOne(TimeSpan.FromSeconds(5));
        var before = (await StatusAsync(alice.Did)).RefreshCount;

        // The wake of a time replaced since (its next refresh is over an hour away).
        account.Tell(new AccountSelfMessages.RefreshDue(DateTimeOffset.UtcNow.AddMinutes(-1)));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(before, (await StatusAsync(alice.Did)).RefreshCount);

        // A refresh cut off by a stop, replayed after recovery, is no clock's wake: it refreshes.
        account.Tell(AccountSelfMessages.RefreshDue.Replay);
        await EventuallyAsync(async () => (await StatusAsync(alice.Did)).RefreshCount == before + 1, TimeSpan.FromSeconds(10), "the replayed refresh");
    }
}
