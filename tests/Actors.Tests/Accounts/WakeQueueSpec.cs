using Supervisor.Actors.Accounts;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>A registry bucket's wake times: soonest first, only current times kept for long.</summary>
public sealed class WakeQueueSpec
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_account_that_rests_again_and_again_leaves_no_trail_of_old_wake_times()
    {
        // One account of a bucket of two, resting 10,000 times, each rest naming its keep-alive weeks ahead.
        var current = new Dictionary<string, DateTimeOffset> { ["did:plc:other"] = Start.AddDays(60) };
        var queue = new WakeQueue();
        queue.Add("did:plc:other", current["did:plc:other"], current.Count, Pairs(current));
        for (var rest = 0; rest < 10_000; rest++)
        {
            var at = Start.AddMinutes(rest).AddDays(60);
            current["did:plc:busy"] = at;
            queue.Add("did:plc:busy", at, current.Count, Pairs(current));
            Assert.True(queue.Count <= 2 * current.Count + WakeQueue.Slack, $"{queue.Count} times queued after {rest + 1} rests");
        }

        // What is left comes out soonest first, the current times among it.
        var seen = new List<(string Did, DateTimeOffset At)>();
        while (queue.TryPeek(out var did, out var at))
        {
            seen.Add((did, at));
            queue.Dequeue();
        }
        Assert.Equal(seen.OrderBy(w => w.At), seen);
        Assert.Contains(("did:plc:other", Start.AddDays(60)), seen);
        Assert.Contains(("did:plc:busy", current["did:plc:busy"]), seen);
    }

    private static Func<IEnumerable<(string Did, DateTimeOffset At)>> Pairs(Dictionary<string, DateTimeOffset> current) =>
        () => current.Select(c => (c.Key, c.Value));
}
