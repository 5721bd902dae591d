using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using Supervisor.Actors.Account;
using Supervisor.Actors.Cluster;
using Supervisor.Host.Configuration;

namespace Supervisor.Bench;

/// <summary>
/// Akka's floor under a running account: sharded persistent actors that hold nothing of ours, started as the accounts
/// are (a region of their own on the same node, the same shard count and sharding settings, the accounts' mailbox,
/// a persistence id as long as an account's, one event journaled each and answered by Ask), so that what Akka keeps for
/// an actor of its own is measured in the same run as the accounts, not estimated.
/// </summary>
public static class BareEntities
{
    private const string TypeName = "bare-entity";

    /// <summary>The region of bare entities in <paramref name="system"/> (the accounts supervisor has joined the cluster).</summary>
    public static Task<IActorRef> StartRegionAsync(ActorSystem system)
    {
        var sharding = ClusterSharding.Get(system); // before its settings: it adds sharding's defaults to the configuration
        var settings = ClusterShardingSettings.Create(system).WithPassivateIdleAfter(TimeSpan.Zero).WithRememberEntities(false)
            .WithRole(ClusterRoles.Supervisor);
        var shards = SupervisorConfig.AccountSettingsOf(system.Settings.Config).AccountShards;
        return sharding.StartAsync(TypeName, id => Props.Create(() => new BareEntity(id)).WithDeploy(Deploy), settings,
            new ShardEnvelope(shards), ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: 0, relativeLimit: 0.1), PoisonPill.Instance);
    }

    /// <summary>Starts <paramref name="count"/> entities numbered from <paramref name="first"/>, each journaling its one event; the time it took.</summary>
    public static async Task<TimeSpan> StartAsync(IActorRef region, int count, int first = 0, int parallel = 500)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(parallel);
        await Task.WhenAll(Enumerable.Range(first, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var reply = await region.Ask<object>(new ShardingEnvelope(Accounts.Did(i), Started.Instance), TimeSpan.FromMinutes(5));
                if (reply is not Started) throw new InvalidOperationException($"bare entity {i} answered {reply}");
            }
            finally
            {
                gate.Release();
            }
        }));
        return clock.Elapsed;
    }

    private static readonly Deploy Deploy = new Deploy().WithMailbox(AccountMailbox.Id);

    /// <summary>Asked of an entity (it journals the event once, then answers); its answer.</summary>
    private sealed class Started
    {
        public static readonly Started Instance = new();
    }

    /// <summary>A persistent actor with no state: its persistence id ("bareent-" and the DID) is as long as an account's.</summary>
    private sealed class BareEntity(string id) : UntypedPersistentActor
    {
        public override string PersistenceId { get; } = "bareent-" + id;

        protected override void OnRecover(object message)
        {
        }

        protected override void OnCommand(object message)
        {
            if (message is not Started) return;
            Persist("started", _ => Sender.Tell(Started.Instance));
        }
    }
}
