using Akka.Actor;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Audit;

/// <summary>The audit trail keeps the newest 10,000 entries (README, "Security model"), the oldest going first, through a restart too.</summary>
public sealed class AuditTrailKeptSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Journal.Config(), output: output)
{
    private static readonly TestJournal Journal = new();
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_newest_ten_thousand_entries_are_kept_and_the_oldest_go_first_through_a_restart_too()
    {
        var trail = Sys.ActorOf(AuditTrail.Props());
        for (var i = 0; i < 10_050; i++) trail.Tell(new AuditEntry(At.AddSeconds(i), "KeySessionOpened", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "key:k", $"session {i}"));
        var kept = await EntriesAsync(trail);
        Assert.Equal(10_000, kept.Count);
        Assert.Equal(("session 10049", "session 50"), (kept[0].Detail, kept[^1].Detail));
        Watch(trail);
        Sys.Stop(trail);
        ExpectTerminated(trail);

        Assert.Equal(kept, await EntriesAsync(Sys.ActorOf(AuditTrail.Props())));
    }

    /// <summary>Every entry the trail answers, newest first, page by page (1,000 at most a page).</summary>
    private static async Task<List<AuditEntry>> EntriesAsync(IActorRef trail)
    {
        var (entries, before) = (new List<AuditEntry>(), (DateTimeOffset?)null);
        while (true)
        {
            var page = await trail.Ask<AuditTrail.AuditEntries>(new AuditTrail.GetAuditEntries(1_000, before), TimeSpan.FromSeconds(120));
            if (page.Entries.Count == 0) return entries;
            entries.AddRange(page.Entries);
            before = page.Entries[^1].At;
        }
    }
}
