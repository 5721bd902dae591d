using Akka.Actor;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Audit;

/// <summary>
/// The audit trail keeps the newest 10,000 entries (README, "Security model"), the oldest going first, through a restart
/// too, and one snapshot of them.
/// </summary>
public sealed class AuditTrailKeptSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Journal.Config(), output: output)
{
    private static readonly TestJournal Journal = new();
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_newest_ten_thousand_entries_are_kept_and_the_oldest_go_first_through_a_restart_too_with_one_snapshot_of_them()
    {
        var trail = Sys.ActorOf(AuditTrail.Props());
        for (var i = 0; i < 10_050; i++) trail.Tell(new AuditEntry(At.AddSeconds(i), "KeySessionOpened", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "key:k", $"session {i}"));
        var kept = await AuditPages.AllAsync(trail);
        Assert.Equal(10_000, kept.Count);
        Assert.Equal(("session 10049", "session 50"), (kept[0].Detail, kept[^1].Detail));
        Watch(trail);
        Sys.Stop(trail);
        ExpectTerminated(trail);

        var again = Sys.ActorOf(AuditTrail.Props());
        Assert.Equal(kept, await AuditPages.AllAsync(again));

        // Each snapshot (every 500 entries) holds every kept entry: once the next one is saved, every one before it is deleted.
        for (var i = 10_050; i < 10_550; i++) again.Tell(new AuditEntry(At.AddSeconds(i), "KeySessionOpened", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "key:k", $"session {i}"));
        await AwaitConditionAsync(() => Task.FromResult(JournalRows.ReadEverything(Journal)
            .Count(r => r.PersistenceId == AuditTrail.Id && r.Manifest.StartsWith("AuditSnapshot", StringComparison.Ordinal)) == 1), TimeSpan.FromSeconds(20));
    }
}
