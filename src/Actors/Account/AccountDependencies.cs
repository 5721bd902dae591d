using Akka.Actor;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Account;

/// <summary>
/// What every account actor shares: the wire client, the timing rules, the event hub, the clock, the metrics,
/// the journal's health, the servers' rate limits and the audit trail (what hands out or ends access is told to it).
/// </summary>
public sealed record AccountDependencies(
    PdsClient Client, AccountSettings Settings, IActorRef Events, TimeProvider Time, SupervisorMetrics Metrics, JournalHealth Journal, ServerLimits Limits,
    IActorRef Audit);
