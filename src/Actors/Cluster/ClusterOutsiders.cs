using Akka.Actor;
using Akka.Event;

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

    /// <summary>
    /// Whether <paramref name="sender"/> is one of the supervisor's own actors, of this node or a member: not outside the
    /// cluster, not a receptionist's tunnel for a ClusterClient (a client's <c>ClusterClient.Publish</c> reaches a topic's
    /// subscribers from it), and not missing (a system outside may send without one). What only the supervisor's actors
    /// send (session events, the registry's and the budgets' changes, the keys' replication) is taken from these alone.
    /// </summary>
    public static bool IsSupervisorActor(IActorRef sender, ActorSystem system)
    {
        return !sender.IsNobody() && !IsOutside(sender, system) && !IsReceptionists(sender.Path.Elements, system);
    }

    /// <summary>Whether the path <paramref name="elements"/> are under <paramref name="system"/>'s receptionist (its tunnels to clients).</summary>
    private static bool IsReceptionists(IReadOnlyList<string> elements, ActorSystem system) =>
        elements.Count >= 2 && elements[0] == "system" && elements[1] == ReceptionistName(system);

    /// <summary>
    /// Whether the message in hand, when <paramref name="ownOnly"/> (one that only the supervisor's actors send), came from
    /// anything else (<see cref="IsSupervisorActor"/>): then it is logged, and the actor drops it.
    /// </summary>
    public static bool DropsForeign(IActorContext context, object message, bool ownOnly)
    {
        if (!ownOnly || IsSupervisorActor(context.Sender, context.System)) return false;
        if (!DropLog.Allows(out var leftOut)) return true;
        Logging.GetLogger(context.System, context.Self.Path.ToStringWithoutAddress()).Warning(
            "{Actor}: dropped {MessageType} from {Sender}: only the supervisor's own actors send it ({Unlogged} more dropped since the last such line)",
            context.Self.Path.Name, message.GetType().Name, context.Sender.Path, leftOut);
        return true;
    }

    private static readonly LogThrottle DropLog = new();

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, string> Receptionists = new();

    /// <summary>The name of <paramref name="system"/>'s ClusterClientReceptionist under <c>/system</c>, whose response tunnels bring clients' messages.</summary>
    public static string ReceptionistName(ActorSystem system) => Receptionists.GetValue(system, ReceptionistOf);

    private static string ReceptionistOf(ActorSystem system) => system.Settings.Config.GetString("akka.cluster.client.receptionist.name", "receptionist");

    /// <summary>
    /// The address of the actor system a message of a client came from: a ClusterClient's message comes from the
    /// receptionist's response tunnel for it (<c>/system/{receptionist}/{the client's path, escaped}</c>) on this node or
    /// on the member whose receptionist took it, any other from its sender. A client's subscriber is an actor of its own
    /// system: this is the address it must have.
    /// </summary>
    public static Address ClientAddress(IActorRef sender, ActorSystem system)
    {
        var elements = sender.Path.Elements;
        if (!IsOutside(sender, system) && elements.Count == 3 && IsReceptionists(elements, system)
            && ActorPath.TryParse(Uri.UnescapeDataString(elements[2]), out var client))
            return client.Address;
        return sender.Path.Address;
    }

    /// <summary>Whether <paramref name="actor"/> is an actor of the system at <paramref name="address"/> (a local reference is of this system).</summary>
    public static bool IsOf(IActorRef actor, Address address, ActorSystem system) =>
        Normalized(actor.Path.Address, system).Equals(Normalized(address, system));

    private static Address Normalized(Address address, ActorSystem system) =>
        address.HasLocalScope && system is ExtendedActorSystem extended ? extended.Provider.DefaultAddress : address;
}
