using System.Diagnostics;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A node's accounts supervisor asks its running accounts whether they may rest, a slice of them each second, each
/// once every passivate-after, and none before it has run that long.
/// </summary>
public sealed class PassivationSweepSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { passivate-after = 2s, journal-probe-interval = 1h }")
{
    private async Task<SupervisorCounts> CountsAsync() => Assert.IsType<SupervisorCounts>(await AskAsync(GetSupervisorCounts.Instance));

    [Fact]
    public async Task A_started_account_runs_for_passivate_after_before_it_may_rest_even_when_idle()
    {
        await LoggedInAsync("fresh.test"); // a login is not a request: the account is idle at once
        var since = Stopwatch.StartNew();

        while (since.Elapsed < TimeSpan.FromSeconds(1.8))
        {
            Assert.Equal(new SupervisorCounts(1, 1, 0), await CountsAsync());
            await Task.Delay(50);
        }
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to rest");
    }

    [Fact]
    public async Task Every_idle_account_of_the_node_rests_within_two_rounds_of_the_sweep()
    {
        for (var i = 0; i < 12; i++) await LoggedInAsync($"bot{i}.test");
        var since = Stopwatch.StartNew();

        // Two seconds to run, a round of two ticks of a second for each to be asked, and a second for the rests to land.
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 12, TimeSpan.FromSeconds(6), "every account to rest");
        Assert.True(since.Elapsed >= TimeSpan.FromSeconds(1.5), $"the last account rested {since.Elapsed.TotalSeconds:0.0} s after its login");
    }
}
