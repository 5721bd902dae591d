using Akka.Actor;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// Whether this node may take accounts on: it is a member and sees a majority of the members reachable, the side
/// the split-brain resolver (keep-majority) keeps. A node that was paused or cut off, and wakes up seeing the others
/// unreachable, is on the side that is downed: it must not start an account, whose journal another node may have
/// moved on since; the journal's sequence numbers fence the accounts it already ran, this fences the ones it would
/// start (its coordinator can hand it shards of the nodes it lost sight of). On a node with the role
/// <see cref="ClusterRoles.Supervisor"/> only the members with that role count (a <c>client</c> member runs no account,
/// and the split-brain resolver decides by the same members); a node without it counts every member.
/// </summary>
public static class ClusterQuorum
{
    /// <summary>Whether the node of <paramref name="system"/> sees a majority; true where the actor system is not a cluster.</summary>
    public static bool Holds(ActorSystem system) =>
        ClusterOf(system) is not { } cluster || Holds(cluster.State, cluster.SelfUniqueAddress, cluster.FailureDetector.IsAvailable);

    /// <summary>
    /// Whether the node of <paramref name="system"/> is alone: not a cluster, or the only member it knows of. No other
    /// node can then run its accounts, so an account may act on events not yet journaled.
    /// </summary>
    public static bool Alone(ActorSystem system) =>
        ClusterOf(system) is not { } cluster ||
        cluster.State.Members.Count(m => m.Status != Akka.Cluster.MemberStatus.Removed && Counts(m, cluster.SelfRoles.Contains(ClusterRoles.Supervisor))) <= 1;

    /// <summary>The cluster of <paramref name="system"/>, or null when its provider is not the cluster's.</summary>
    private static Akka.Cluster.Cluster? ClusterOf(ActorSystem system) =>
        system is ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider } ? Akka.Cluster.Cluster.Get(system) : null;

    /// <summary>
    /// Whether <paramref name="self"/> is a serving member of <paramref name="state"/> and sees more than half of those
    /// members (of the supervisor role only, when <paramref name="self"/> has it) reachable, and <paramref name="heard"/>
    /// from lately. The membership state alone is not enough: a node woken up from a pause keeps its view from before
    /// the pause (every member up and reachable) until its failure detector's next round marks the others unreachable,
    /// and the others have downed it by then; its failure detector, asked directly, already knows that it has heard
    /// from none of them for the length of the pause.
    /// </summary>
    public static bool Holds(Akka.Cluster.ClusterEvent.CurrentClusterState state, Akka.Cluster.UniqueAddress self, Func<Address, bool> heard)
    {
        var byRole = state.Members.FirstOrDefault(m => m.UniqueAddress.Equals(self))?.HasRole(ClusterRoles.Supervisor) == true;
        // (Not WeaklyUp members: the split-brain resolver does not count them either, and two of them joining the
        // minority's side during a split would make it look like a majority.)
        var serving = state.Members.Where(m => m.Status is Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.Leaving)
            .Where(m => Counts(m, byRole))
            .Select(m => m.UniqueAddress).ToHashSet();
        if (!serving.Contains(self)) return false;
        var unreachable = state.Unreachable.Where(m => serving.Contains(m.UniqueAddress)).Select(m => m.UniqueAddress).ToHashSet();
        var seen = serving.Count(m => m.Equals(self) || (!unreachable.Contains(m) && heard(m.Address)));
        return seen * 2 > serving.Count;
    }

    /// <summary>Whether <paramref name="member"/> counts: any member, or with <paramref name="byRole"/> only a supervisor node.</summary>
    private static bool Counts(Akka.Cluster.Member member, bool byRole) => !byRole || member.HasRole(ClusterRoles.Supervisor);
}
