using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// What there is one of in the whole cluster (the account keys and the audit trail, each journaled under one persistence
/// id): run by a ClusterSingletonManager on the supervisor nodes (the oldest hosts it, and hands it over when it leaves),
/// reached on every node through a ClusterSingletonProxy, which holds what is sent while the singleton moves.
/// </summary>
public static class ClusterSingletons
{
    /// <summary>Starts <paramref name="props"/> as the cluster's one <paramref name="name"/> and answers this node's proxy to it.</summary>
    public static IActorRef Start(ActorSystem system, Props props, string name)
    {
        system.Settings.InjectTopLevelFallback(ClusterSingleton.DefaultConfig());
        system.ActorOf(ClusterSingletonManager.Props(props, PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole(ClusterRoles.Supervisor).WithSingletonName("singleton")), name);
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{name}",
            ClusterSingletonProxySettings.Create(system).WithRole(ClusterRoles.Supervisor).WithSingletonName("singleton")), name + "-proxy");
    }
}
