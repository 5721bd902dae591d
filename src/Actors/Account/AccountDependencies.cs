using Akka.Actor;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Account;

/// <summary>What every account actor shares: the wire client, the timing rules, the event hub, the clock and the metrics.</summary>
public sealed record AccountDependencies(PdsClient Client, AccountSettings Settings, IActorRef Events, TimeProvider Time, SupervisorMetrics Metrics);
