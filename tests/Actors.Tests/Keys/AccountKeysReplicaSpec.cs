using Akka.Actor;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Keys.KeyCommands;
using static Supervisor.Actors.Keys.KeyReplication;

namespace Supervisor.Actors.Tests.Keys;

/// <summary>
/// A node's copy of the account keys (<see cref="AccountKeysReplica"/>) against the keys' owner journaling in the same
/// journal and a probe standing for the owner it registered with: it counts as loaded only once it holds what the owner
/// says is journaled, and when an event it was told shows that it missed others, it reads the journal and holds them all,
/// telling the owner how far it holds them; when the owner it heard from stops (it moves), it registers again at once.
/// </summary>
public sealed class AccountKeysReplicaSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Journal.Config("supervisor.keys.heartbeat = 60s"), output: output)
{
    private static readonly TestJournal Journal = new();
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    [Fact]
    public async Task A_replica_counts_as_loaded_only_once_it_holds_what_the_owner_has_journaled()
    {
        var owner = CreateTestProbe();
        var index = new AccountKeyIndex();
        var replica = Sys.ActorOf(AccountKeysReplica.Props(index, owner.Ref));
        var register = (RegisterReplica)owner.FishForMessage(m => m is RegisterReplica);
        Assert.Equal(replica, register.Replica);

        // Its own read of the (empty) journal is done, but the owner has not said how far it is: not loaded.
        Assert.True(await index.WaitForAsync(0, TimeSpan.FromSeconds(5)));
        Assert.False(await index.WaitLoadedAsync(TimeSpan.FromMilliseconds(300)));
        // A request whose client left stops waiting at once, not after its 30 s.
        using (var left = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var waiting = System.Diagnostics.Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => index.WaitLoadedAsync(TimeSpan.FromSeconds(30), left.Token));
            Assert.True(waiting.Elapsed < TimeSpan.FromSeconds(10), $"waited {waiting.Elapsed} for a client that had left");
        }
        replica.Tell(new KeysJournaledUpTo(0), owner.Ref);
        Assert.True(await index.WaitLoadedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task An_event_that_shows_missed_ones_makes_the_replica_read_the_journal_and_hold_them_all()
    {
        var writer = Sys.ActorOf(AccountKeys.Props(CreateTestProbe().Ref));
        var owner = CreateTestProbe();
        var index = new AccountKeyIndex();
        var replica = Sys.ActorOf(AccountKeysReplica.Props(index, owner.Ref));
        owner.FishForMessage(m => m is RegisterReplica);
        Assert.True(await index.WaitForAsync(0, TimeSpan.FromSeconds(5)));

        // Three keys journaled while the replica hears nothing of them; then it is told the third only.
        var issued = new List<KeyIssuedReply>();
        for (var i = 0; i < 3; i++)
        {
            var (id, _, hash) = AccountKey.New();
            issued.Add(await writer.Ask<KeyIssuedReply>(new IssueKey(id, hash, Did, $"bot-{i}", null, [], "admin"), TimeSpan.FromSeconds(10)));
        }
        Assert.Equal(0, index.SequenceNr);
        var third = issued[^1];
        replica.Tell(new KeyEventJournaled(third.SequenceNr, new KeyEvents.KeyIssued(third.Info.Id, Did, third.Info.Name, third.Info.Hash, null, [], "admin", third.Info.IssuedAt)));

        Assert.True(await index.WaitForAsync(third.SequenceNr, TimeSpan.FromSeconds(5)), $"the replica is at {index.SequenceNr}");
        Assert.Equal(issued.Select(k => k.Info.Id).Order(), index.Keys.Select(k => k.Id).Order());

        // An event it already holds changes nothing; the next one in order is applied as told.
        replica.Tell(new KeyEventJournaled(third.SequenceNr, new KeyEvents.KeyRevoked(third.Info.Id, "admin", DateTimeOffset.UtcNow)));
        replica.Tell(new KeyEventJournaled(third.SequenceNr + 1, new KeyEvents.KeyRevoked(issued[0].Info.Id, "admin", DateTimeOffset.UtcNow)));
        Assert.True(await index.WaitForAsync(third.SequenceNr + 1, TimeSpan.FromSeconds(5)));
        Assert.Null(index.Key(third.Info.Id)!.RevokedAt);
        Assert.NotNull(index.Key(issued[0].Info.Id)!.RevokedAt);
        // ...and the owner is told that this node holds it (a change is answered once every node does).
        owner.FishForMessage(m => m is KeysHeld held && held.Replica.Equals(replica) && held.SequenceNr == third.SequenceNr + 1, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_replica_registers_again_as_soon_as_the_owner_it_heard_from_stops()
    {
        var proxy = CreateTestProbe();
        var replica = Sys.ActorOf(AccountKeysReplica.Props(new AccountKeyIndex(), proxy.Ref));
        proxy.FishForMessage(m => m is RegisterReplica);

        // The owner behind the proxy tells its progress, then stops (its node leaves); the heartbeat is a minute away.
        var owner = CreateTestProbe();
        replica.Tell(new KeysJournaledUpTo(0), owner.Ref);
        proxy.FishForMessage(m => m is KeysHeld, TimeSpan.FromSeconds(5));
        Sys.Stop(owner.Ref);
        Assert.Equal(replica, ((RegisterReplica)proxy.FishForMessage(m => m is RegisterReplica, TimeSpan.FromSeconds(3))).Replica);
    }
}
