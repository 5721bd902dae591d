using Akka.Actor;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Audit;

/// <summary>
/// The audit trail's pages, each asked before the last time of the page before (README, <c>GET /audit</c>), go through
/// every entry: its times are its order, also for entries told at one instant or from a node whose clock is behind.
/// </summary>
public sealed class AuditTrailOrderSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Journal.Config(), output: output)
{
    private static readonly TestJournal Journal = new();
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Pages_asked_before_the_last_time_of_the_page_before_go_through_every_entry_also_of_one_instant_or_an_older_clock()
    {
        var trail = Sys.ActorOf(AuditTrail.Props());
        // Five at one instant (keys issued together), then one from a node whose clock is a second behind, then one later.
        var told = Enumerable.Range(0, 5).Select(i => new AuditEntry(At, "KeyIssued", null, "admin", $"key {i}"))
            .Append(new AuditEntry(At.AddSeconds(-1), "KeyIssued", null, "admin", "key 5"))
            .Append(new AuditEntry(At.AddSeconds(1), "KeyIssued", null, "admin", "key 6"))
            .ToList();
        foreach (var entry in told) trail.Tell(entry);
        await AwaitConditionAsync(async () => (await AuditPages.AllAsync(trail, pageSize: 2)).Count == told.Count, TimeSpan.FromSeconds(10));

        var read = await AuditPages.AllAsync(trail, pageSize: 2);
        Assert.Equal(told.Select(e => e.Detail).Reverse(), read.Select(e => e.Detail));
        Assert.All(read.Zip(read.Skip(1)), pair => Assert.True(pair.Item1.At > pair.Item2.At, "each entry's time is after the one told before it"));
        // Moved on by no more than the order needs: the later entry keeps its own time, the others are within a microsecond.
        Assert.Equal(At.AddSeconds(1), read[0].At);
        Assert.All(read.Skip(1), e => Assert.InRange(e.At, At, At.AddTicks(10)));

        // A restart answers the same times.
        Watch(trail);
        Sys.Stop(trail);
        ExpectTerminated(trail);
        Assert.Equal(read, await AuditPages.AllAsync(Sys.ActorOf(AuditTrail.Props()), pageSize: 2));
    }
}
