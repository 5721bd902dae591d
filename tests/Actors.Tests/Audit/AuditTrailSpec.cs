using Akka.Actor;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Audit;

/// <summary>The audit trail answers after a restart what it answered before (its snapshots keep what it keeps in memory).</summary>
public sealed class AuditTrailSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Journal.Config(), output: output)
{
    private static readonly TestJournal Journal = new();
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_restart_answers_every_entry_kept_before_it_not_only_the_newest_thousand()
    {
        // 1,600 entries: snapshots at 500, 1,000 and 1,500, the journal before each let go.
        var trail = Sys.ActorOf(AuditTrail.Props());
        for (var i = 0; i < 1_600; i++) trail.Tell(new AuditEntry(At.AddSeconds(i), "KeySessionOpened", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "key:k", $"session {i}"));
        Assert.Equal(1_600, (await AuditPages.AllAsync(trail)).Count);
        Watch(trail);
        Sys.Stop(trail);
        ExpectTerminated(trail);

        var restarted = Sys.ActorOf(AuditTrail.Props());
        Assert.Equal(1_600, (await AuditPages.AllAsync(restarted)).Count);
    }
}
