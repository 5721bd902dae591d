using Akka.Actor;
using Akka.Persistence;
using Supervisor.Actors.Account;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>
/// The fence against a second owner on the real journals: a run of an account that another node has taken over
/// (while this one was paused or cut off) never sends the refresh token it holds, even once the new owner has compacted
/// the journal past the sequence number this run would write next.
/// </summary>
public abstract class OwnershipFenceSpec(JournalKind kind, ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(kind), output, new RecoveryGate([AccountSessionActor.PersistenceIdFor(GatedDid(kind))]).Config)
{
    /// <summary>An account whose reads of the journal's highest sequence number the spec holds (one per journal: the specs of both may run at once).</summary>
    private static string GatedDid(JournalKind kind) => "did:plc:" + ("fenced" + kind).ToLowerInvariant().PadRight(24, 'a');

    private RecoveryGate Gate => RecoveryGate.Named(Sys.Settings.Config.GetString("akka.persistence.journal.sql.recovery-gate"));

    [Fact]
    public async Task A_run_paused_past_the_new_owners_compaction_never_sends_its_refresh_token()
    {
        var alice = await LoggedInAsync();
        var persistenceId = AccountSessionActor.PersistenceIdFor(alice.Did);
        var written = JournalRows.Read(Journal, persistenceId).Max(r => r.SequenceNumber);

        using var other = await SecondMemberAsync();

        // The other node owns the account now: it claimed it, journaled 60 events and compacted them, as a snapshot every
        // 50 events does. The journal keeps only its highest row: the next sequence number of this run is free again.
        var newOwner = other.ActorOf(Props.Create(() => new NewOwner(persistenceId, 60)));
        Assert.Equal(written + 60, await newOwner.Ask<long>(NewOwner.Compact, TimeSpan.FromSeconds(20)));
        var rows = JournalRows.Read(Journal, persistenceId);
        Assert.Equal([written + 60], rows.Select(r => r.SequenceNumber));

        var refreshes = Pds.CallCount("com.atproto.server.refreshSession");
        Accounts.Tell(new RefreshNow(alice.Did), TestActor);
        Assert.Equal(alice.Did, ExpectMsg<AccountMoved>(TimeSpan.FromSeconds(10)).AccountId);
        Assert.Equal(refreshes, Pds.CallCount("com.atproto.server.refreshSession"));
        await other.Terminate();
    }

    [Fact]
    public async Task A_run_that_still_owns_its_account_with_another_node_in_the_cluster_refreshes()
    {
        var alice = await LoggedInAsync();
        using var other = await SecondMemberAsync();

        var refreshes = Pds.CallCount("com.atproto.server.refreshSession");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.Equal(refreshes + 1, Pds.CallCount("com.atproto.server.refreshSession"));
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        await other.Terminate();
    }

    [Fact]
    public async Task A_write_of_its_own_while_the_journal_is_asked_is_not_taken_for_another_owners()
    {
        var did = GatedDid(kind);
        var persistenceId = AccountSessionActor.PersistenceIdFor(did);
        var alice = new FakeAccount(did, "fenced.test", "fenced@example.com", "pw-fenced");
        Pds.Host(alice);
        Gate.Release(persistenceId);
        await LoginAsync(Pds.Url, alice.Handle, alice.Password);
        using var other = await SecondMemberAsync();

        // The refresh's RefreshStarted is journaled and the journal asked; while the answer is held, the account journals a
        // handle its PDS reported and that was verified (its own write, past the RefreshStarted).
        Gate.Close(persistenceId);
        var refreshes = Pds.CallCount("com.atproto.server.refreshSession");
        Accounts.Tell(new RefreshNow(did), TestActor);
        await EventuallyAsync(() => Task.FromResult(Gate.Held.Contains(persistenceId)), TimeSpan.FromSeconds(10), "the journal asked");
        var region = Akka.Cluster.Sharding.ClusterSharding.Get(Sys).ShardRegion("account");
        region.Tell(new Akka.Cluster.Sharding.ShardingEnvelope(did, new HandleChecked("renamed.test", Verified: true, "verified")));
        await EventuallyAsync(() => Task.FromResult(JournalRows.Read(Journal, persistenceId).Any(r => r.Manifest == "HandleVerified.v1")),
            TimeSpan.FromSeconds(10), "the handle journaled");
        Gate.Release(persistenceId);

        Assert.IsType<RefreshCompleted>(ExpectMsg<object>(TimeSpan.FromSeconds(10)));
        Assert.Equal(refreshes + 1, Pds.CallCount("com.atproto.server.refreshSession"));
        Assert.Equal(AccountStateName.Active, (await StatusAsync(did)).State);
        await other.Terminate();
    }

    [Fact]
    public async Task A_run_whose_logout_is_pending_stops_at_its_next_retry_once_another_node_has_claimed_the_account()
    {
        const string DeleteSession = "com.atproto.server.deleteSession";
        var alice = await LoggedInAsync();
        using var other = await SecondMemberAsync();
        var first = await Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(alice.Did)).ResolveOne(TimeSpan.FromSeconds(5));
        Watch(first);

        // The logout is journaled; its deleteSession keeps failing, so the run retries it (every 2 s at most here).
        Pds.FailNext(DeleteSession, FakeFailure.ServerError500, times: 10_000);
        Assert.IsType<LogoutPending>(await AskAsync(new Logout(alice.Did)));

        // Another node starts the account (this one paused or cut off, as the other sees it): with no session left but a
        // deletion pending, it claims the account before it sends the deleteSession itself.
        var persistenceId = AccountSessionActor.PersistenceIdFor(alice.Did);
        var settings = Supervisor.Host.Configuration.SupervisorConfig.AccountSettingsOf(other.Settings.Config);
        other.Settings.InjectTopLevelFallback(AccountMailbox.Configuration);
        other.ActorOf(AccountSessionActor.Props(alice.Did, new AccountDependencies(Client, settings, ActorRefs.Nobody, TimeProvider.System,
            new SupervisorMetrics(), new Supervisor.Actors.Journal.JournalHealth(), new Supervisor.Actors.Limits.ServerLimits(settings.ServerLimits),
            ActorRefs.Nobody, null, ActorRefs.Nobody, ActorRefs.Nobody, "other-node")));
        await EventuallyAsync(() => Task.FromResult(JournalRows.Read(Journal, persistenceId).Any(r => r.Manifest.StartsWith("OwnerClaimed.", StringComparison.Ordinal)
                && r.Payload.Contains("other-node", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "the new owner's claim journaled");

        // The first run's next retry finds the claim past its own writes and stops, its refresh token unsent.
        ExpectTerminated(first, TimeSpan.FromSeconds(10));
        await other.Terminate();
    }

    /// <summary>Another node's run of the account, reduced to what it writes: its claim and events, then a compaction.</summary>
    private sealed class NewOwner : ReceivePersistentActor
    {
        public static readonly object Compact = "compact";

        private IActorRef? _replyTo;

        public NewOwner(string persistenceId, int events)
        {
            PersistenceId = persistenceId;
            Recover<object>(_ => { });
            Command<string>(_ =>
            {
                _replyTo = Sender;
                PersistAll(Enumerable.Range(0, events).Select(_ => new AccountEvents.OwnerClaimed("other-node", DateTimeOffset.UtcNow)), _ => { });
                DeferAsync(events, _ => DeleteMessages(LastSequenceNr));
            });
            Command<DeleteMessagesSuccess>(_ => _replyTo!.Tell(LastSequenceNr));
        }

        public override string PersistenceId { get; }
    }
}

public sealed class OwnershipFenceSqliteSpec(ITestOutputHelper output) : OwnershipFenceSpec(JournalKind.Sqlite, output);

public sealed class OwnershipFencePostgresSpec(ITestOutputHelper output) : OwnershipFenceSpec(JournalKind.Postgres, output);
