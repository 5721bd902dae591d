using Akka.Actor;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Account;

/// <summary>
/// What every account actor shares: the wire client, the timing rules, the event hub, the clock, the metrics,
/// the journal's health and the servers' rate limits.
/// </summary>
public sealed record AccountDependencies(
    PdsClient Client, AccountSettings Settings, IActorRef Events, TimeProvider Time, SupervisorMetrics Metrics, JournalHealth Journal, ServerLimits Limits);
