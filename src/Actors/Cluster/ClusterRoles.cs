namespace Supervisor.Actors.Cluster;

/// <summary>
/// The roles of the cluster's members: nodes (<see cref="Supervisor"/>) host the accounts, the registry and the login
/// budgets and decide splits; a <see cref="Client"/> member joins only to send to the accounts through a shard-region proxy.
/// </summary>
public static class ClusterRoles
{
    /// <summary>A supervisor node: hosts the shard regions, counts for the split-brain resolver and the quorum.</summary>
    public const string Supervisor = "supervisor";

    /// <summary>Another actor system joined as a member: it hosts no shard and counts for no majority.</summary>
    public const string Client = "client";
}
