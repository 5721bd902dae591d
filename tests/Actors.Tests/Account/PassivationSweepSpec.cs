using System.Diagnostics;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A node's accounts supervisor asks its running accounts whether they may rest, a slice of them each second, each
/// once every passivate-after: the first time between passivate-after and a second more after its start.
/// </summary>
public sealed class PassivationSweepSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { passivate-after = 3s, journal-probe-interval = 1h }")
{
    [Fact]
    public async Task A_started_account_runs_for_passivate_after_before_it_may_rest_even_when_idle()
    {
        await LoggedInAsync("fresh.test"); // a login is not a request: the account is idle at once
        var since = Stopwatch.StartNew();

        // (It started a moment before the login's answer: half a second is left for that.)
        while (since.Elapsed < TimeSpan.FromSeconds(2.5))
        {
            Assert.Equal(new SupervisorCounts(1, 1, 0), await CountsAsync());
            await Task.Delay(50);
        }
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to rest");
    }

    [Fact]
    public async Task Every_idle_account_of_the_node_rests_within_passivate_after_and_a_tick_of_its_start()
    {
        var clock = Stopwatch.StartNew();
        var loggedInAt = new Dictionary<string, TimeSpan>();
        for (var i = 0; i < 12; i++) loggedInAt[(await LoggedInAsync($"bot{i}.test")).Did] = clock.Elapsed;

        var restedAfter = new Dictionary<string, TimeSpan>();
        while (restedAfter.Count < loggedInAt.Count && clock.Elapsed < loggedInAt.Values.Max() + TimeSpan.FromSeconds(8))
        {
            // All asked at once: asked one after another, a loaded machine's answers made the last seen seconds late.
            var running = loggedInAt.Keys.Where(did => !restedAfter.ContainsKey(did)).ToList();
            var statuses = await Task.WhenAll(running.Select(did => StatusAsync(did)));
            var seenAt = clock.Elapsed;
            foreach (var (did, status) in running.Zip(statuses))
                if (status.Node is null) restedAfter[did] = seenAt - loggedInAt[did];
            await Task.Delay(50);
        }

        // Three seconds to run, at most a tick of a second for its slot to come, and 1.2 s for its rest to land and be
        // seen (a slot picked without regard to its start leaves a third of them to the next round, up to six seconds).
        Assert.Equal(loggedInAt.Count, restedAfter.Count);
        Assert.All(restedAfter.Values, after => Assert.InRange(after, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(5.2)));
    }
}
