using Akka.Actor;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// Tells the actors of this node and of the cluster's members from those of other actor systems. Remoting admits every
/// holder of the cluster's certificate, members and outsiders alike (ClusterClients, or a system that sends to a node's
/// actors directly); what reveals a secret (a session's tokens, a lent access token, an account key) is served only
/// inside the cluster, so the actors that hold secrets ask this of the sender. A ClusterClient's messages reach the
/// accounts through this node's gateway (<c>/user/clients</c>) and the receptionist's tunnel, both local: they are
/// inside, and the gateway decides what a client may have.
/// </summary>
public static class ClusterOutsiders
{
    /// <summary>
    /// Whether <paramref name="actor"/> belongs to an actor system that is neither this node nor a member of its cluster
    /// (joining, up, leaving or exiting; a downed or removed member is outside). Without a cluster, any remote actor is.
    /// </summary>
    public static bool IsOutside(IActorRef actor, ActorSystem system)
    {
        var address = actor.Path.Address;
        if (address.HasLocalScope) return false;
        if (system is not ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider }) return true;
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (address.Equals(cluster.SelfAddress)) return false;
        foreach (var member in cluster.State.Members)
            if (member.Address.Equals(address))
                return member.Status is Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Removed;
        return true;
    }
}
