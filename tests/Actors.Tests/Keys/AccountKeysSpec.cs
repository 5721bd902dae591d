using Akka.Actor;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Keys.KeyCommands;
using static Supervisor.Actors.Keys.KeyReplication;

namespace Supervisor.Actors.Tests.Keys;

/// <summary>
/// The keys' owner (<see cref="AccountKeys"/>) answers a change once every node's replica that registered holds it, so
/// that a key issued or revoked through one node counts on every node from the next request on; a replica that does not
/// answer (a node going away) holds a change up only for <c>supervisor.keys.replica-ack-timeout</c>, and one that stopped
/// not at all; in a cluster, a node that is up but whose copy has not registered yet (after the owner moved) is waited for
/// too. Probes stand for the replicas.
/// </summary>
public sealed class AccountKeysSpec(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(Journal.Config("supervisor.keys.replica-ack-timeout = 6s"), output: output)
{
    private static readonly TestJournal Journal = new();
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    [Fact]
    public async Task A_change_is_answered_only_once_every_registered_replica_holds_it()
    {
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref));
        var (first, second) = (CreateTestProbe(), CreateTestProbe());
        foreach (var replica in new[] { first, second })
        {
            owner.Tell(new RegisterReplica(replica.Ref), replica.Ref);
            replica.ExpectMsg<KeysJournaledUpTo>();
        }

        var answer = owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10));
        // The owner also tells its progress (at its start and every heartbeat): passed over.
        var journaled = (KeyEventJournaled)first.FishForMessage(m => m is KeyEventJournaled);
        second.FishForMessage(m => m is KeyEventJournaled);
        first.Reply(new KeysHeld(first.Ref, journaled.SequenceNr));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(answer.IsCompleted, "answered while one replica had not said it holds the change");

        // An older number from the second changes nothing; the change's own does.
        second.Reply(new KeysHeld(second.Ref, journaled.SequenceNr - 1));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(answer.IsCompleted);
        second.Reply(new KeysHeld(second.Ref, journaled.SequenceNr));
        Assert.Equal(journaled.SequenceNr, (await answer).SequenceNr);
    }

    [Fact]
    public async Task A_replica_that_does_not_answer_holds_a_change_up_only_for_the_ack_timeout_and_a_stopped_one_not_at_all()
    {
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref));
        var silent = CreateTestProbe();
        owner.Tell(new RegisterReplica(silent.Ref), silent.Ref);
        silent.ExpectMsg<KeysJournaledUpTo>();

        var started = DateTime.UtcNow;
        await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(20));
        var waited = DateTime.UtcNow - started;
        Assert.InRange(waited, TimeSpan.FromSeconds(5.8), TimeSpan.FromSeconds(15)); // the ack timeout, 6 s here

        Sys.Stop(silent.Ref);
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // the owner watches it: Terminated reaches it
        started = DateTime.UtcNow;
        await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(20));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(4), $"waited {DateTime.UtcNow - started} for a stopped replica");
    }

    [Fact]
    public async Task In_a_cluster_a_change_also_waits_for_a_node_whose_copy_has_not_registered_yet()
    {
        // An owner that just moved knows no replica yet: this node is up in the cluster, its copy not yet registered.
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        await AwaitConditionAsync(() => Task.FromResult(cluster.State.Members.Any(m => m.Status == Akka.Cluster.MemberStatus.Up)), TimeSpan.FromSeconds(10));
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref));

        var answer = owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        Assert.False(answer.IsCompleted, "answered before this node's copy had registered");
        var replica = CreateTestProbe();
        owner.Tell(new RegisterReplica(replica.Ref), replica.Ref);
        var journaled = replica.ExpectMsg<KeysJournaledUpTo>();
        replica.Reply(new KeysHeld(replica.Ref, journaled.SequenceNr));
        Assert.Equal(journaled.SequenceNr, (await answer).SequenceNr);
    }

    [Fact]
    public async Task A_key_sessions_previous_refresh_token_gets_the_same_successor_for_two_hours_and_nothing_after()
    {
        var time = new Supervisor.Actors.Tests.Identity.ManualTime();
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref, time));
        var issued = await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10));
        var opened = await owner.Ask<KeySessionReply>(new OpenKeySession(issued.Info.Id, time.GetUtcNow().AddDays(90)), TimeSpan.FromSeconds(10));
        var (sid, first) = (opened.Session.Sid, opened.Session.Jti);
        var successor = (await owner.Ask<KeySessionReply>(new RotateKeySession(sid, first), TimeSpan.FromSeconds(10))).Session.Jti;
        Assert.NotEqual(first, successor);

        time.Advance(AccountKeys.Grace - TimeSpan.FromMinutes(1));
        Assert.Equal(successor, (await owner.Ask<KeySessionReply>(new RotateKeySession(sid, first), TimeSpan.FromSeconds(10))).Session.Jti);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("Token has been revoked", (await owner.Ask<KeySessionRefused>(new RotateKeySession(sid, first), TimeSpan.FromSeconds(10))).Reason);
        // The successor itself still rotates.
        Assert.NotEqual(successor, (await owner.Ask<KeySessionReply>(new RotateKeySession(sid, successor), TimeSpan.FromSeconds(10))).Session.Jti);
        Assert.Equal(TimeSpan.FromHours(2), AccountKeys.Grace);
    }

    [Fact]
    public async Task A_key_opens_at_most_its_budget_of_sessions_a_window_and_the_next_when_the_window_frees_a_place()
    {
        var time = new Supervisor.Actors.Tests.Identity.ManualTime();
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref, time, new KeySessionLimits([new Supervisor.Actors.Limits.BudgetWindow(2, TimeSpan.FromMinutes(1))], [])));
        var (busy, other) = ((await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10))).Info.Id, (await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10))).Info.Id);
        var first = time.GetUtcNow();
        await owner.Ask<KeySessionReply>(new OpenKeySession(busy, first.AddDays(90)), TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));
        await owner.Ask<KeySessionReply>(new OpenKeySession(busy, first.AddDays(90)), TimeSpan.FromSeconds(10));

        var spent = await owner.Ask<KeySessionsSpent>(new OpenKeySession(busy, first.AddDays(90)), TimeSpan.FromSeconds(10));
        Assert.Equal(first + TimeSpan.FromMinutes(1), spent.RetryAt);
        Assert.Equal(new Supervisor.Actors.Limits.BudgetWindow(2, TimeSpan.FromMinutes(1)), spent.Spent);
        // Another key's budget is its own.
        await owner.Ask<KeySessionReply>(new OpenKeySession(other, first.AddDays(90)), TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(50));
        await owner.Ask<KeySessionReply>(new OpenKeySession(busy, first.AddDays(90)), TimeSpan.FromSeconds(10));
        Assert.IsType<KeySessionsSpent>(await owner.Ask<object>(new OpenKeySession(busy, first.AddDays(90)), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_key_rotates_its_sessions_at_most_its_budget_a_window_and_a_refused_rotation_leaves_the_session_as_it_was()
    {
        var time = new Supervisor.Actors.Tests.Identity.ManualTime();
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref, time, new KeySessionLimits([], [new Supervisor.Actors.Limits.BudgetWindow(2, TimeSpan.FromMinutes(1))])));
        var key = (await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10))).Info.Id;
        var session = (await owner.Ask<KeySessionReply>(new OpenKeySession(key, time.GetUtcNow().AddDays(90)), TimeSpan.FromSeconds(10))).Session;
        var first = time.GetUtcNow();
        var jti = (await owner.Ask<KeySessionReply>(new RotateKeySession(session.Sid, session.Jti), TimeSpan.FromSeconds(10))).Session.Jti;
        // The token before, within its grace, answers the same successor: no rotation, nothing counted.
        Assert.Equal(jti, (await owner.Ask<KeySessionReply>(new RotateKeySession(session.Sid, session.Jti), TimeSpan.FromSeconds(10))).Session.Jti);
        jti = (await owner.Ask<KeySessionReply>(new RotateKeySession(session.Sid, jti), TimeSpan.FromSeconds(10))).Session.Jti;

        var spent = await owner.Ask<KeySessionsSpent>(new RotateKeySession(session.Sid, jti), TimeSpan.FromSeconds(10));
        Assert.Equal(first + TimeSpan.FromMinutes(1), spent.RetryAt);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotEqual(jti, (await owner.Ask<KeySessionReply>(new RotateKeySession(session.Sid, jti), TimeSpan.FromSeconds(10))).Session.Jti);
    }

    [Fact]
    public async Task The_budget_is_kept_through_a_snapshot_and_a_restart_of_the_owner_and_only_the_newest_snapshot_is_kept()
    {
        var time = new Supervisor.Actors.Tests.Identity.ManualTime();
        var limits = new KeySessionLimits([new Supervisor.Actors.Limits.BudgetWindow(2, TimeSpan.FromDays(1))], []);
        var owner = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref, time, limits));
        var key = (await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10))).Info.Id;
        await owner.Ask<KeySessionReply>(new OpenKeySession(key, time.GetUtcNow().AddDays(90)), TimeSpan.FromSeconds(10));
        var opened = (await owner.Ask<KeySessionReply>(new OpenKeySession(key, time.GetUtcNow().AddDays(90)), TimeSpan.FromSeconds(10))).SequenceNr;

        // Other keys issued: the owner snapshots every 200 events, recovery starts from the newest snapshot, and the
        // openings' events are not read again.
        // Two snapshots at least are written: only the newest is kept (each holds every key and session).
        List<long> Snapshots() => [.. JournalRows.ReadEverything(Journal)
            .Where(r => r.PersistenceId == AccountKeys.Id && r.Manifest.StartsWith("KeysSnapshot", StringComparison.Ordinal)).Select(r => r.SequenceNumber)];
        var last = opened;
        for (var i = 0; i < 400; i++) last = (await owner.Ask<KeyIssuedReply>(Issue(), TimeSpan.FromSeconds(10))).SequenceNr;
        var newest = last / 200 * 200;
        Assert.True(newest - 200 > opened, "fewer than two snapshots after the openings");
        await AwaitConditionAsync(() => Task.FromResult(Snapshots() is [var only] && only == newest), TimeSpan.FromSeconds(20));
        Watch(owner);
        Sys.Stop(owner);
        ExpectTerminated(owner);

        var again = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref, time, limits));
        Assert.IsType<KeySessionsSpent>(await again.Ask<object>(new OpenKeySession(key, time.GetUtcNow().AddDays(90)), TimeSpan.FromSeconds(10)));
    }

    private static IssueKey Issue()
    {
        var (id, _, hash) = AccountKey.New();
        return new IssueKey(id, hash, Did, "bot", null, [], "admin");
    }
}
