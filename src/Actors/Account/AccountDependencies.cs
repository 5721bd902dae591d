using Akka.Actor;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Account;

/// <summary>
/// What every account actor shares: the wire client, the timing rules, the event hub, the clock, the metrics,
/// the journal's health, the servers' rate limits, the audit trail (what hands out or ends access is told to it),
/// the identity resolver that verifies DIDs and handles (null: identities are believed, for specs of other things),
/// the node's gateway (the accounts supervisor, told of status changes), the registry's shard region (told of rests)
/// and this node's incarnation (its address and uid: the owner an account journals when it starts here).
/// </summary>
public sealed record AccountDependencies(
    PdsClient Client, AccountSettings Settings, IActorRef Events, TimeProvider Time, SupervisorMetrics Metrics, JournalHealth Journal, ServerLimits Limits,
    IActorRef Audit, Identity.IdentityResolver? Identity, IActorRef Gateway, IActorRef Registry, string Node)
{
    /// <summary>This node's address without its uid, as an account's status shows it (one string for all accounts).</summary>
    public string NodeAddress { get; } = Node.Split('#')[0];

    /// <summary>What runs stopped by a failed write left for the next run of their account on this node.</summary>
    public HeldEventsHandovers Handovers { get; } = new();

    /// <summary>The node's one timer for its running accounts' refreshes.</summary>
    public RefreshClock Refreshes { get; } = new(Time);
}
