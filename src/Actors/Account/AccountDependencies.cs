using Akka.Actor;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Account;

/// <summary>What every account actor shares: the wire client, the timing rules, the event hub, the clock, the metrics and the journal's health.</summary>
public sealed record AccountDependencies(PdsClient Client, AccountSettings Settings, IActorRef Events, TimeProvider Time, SupervisorMetrics Metrics, JournalHealth Journal);
