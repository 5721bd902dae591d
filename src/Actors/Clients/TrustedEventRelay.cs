using Akka.Actor;
using Supervisor.Actors.Events;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Clients;

/// <summary>
/// The subscription with tokens of a trusted client outside the cluster, on the node it subscribed through: subscribes
/// itself to the node's session events with tokens and passes each on to the client's subscriber as a
/// <see cref="TrustedSessionEvent"/> (the client has no token key to read a node's encrypted pair). It confirms the
/// subscription to the client once the node's hub did, and stops when the subscriber is gone or unsubscribed.
/// </summary>
public sealed class TrustedEventRelay : ReceiveActor
{
    /// <summary>Subscribes for <paramref name="subscription"/>; <paramref name="confirmTo"/> hears it confirmed.</summary>
    public TrustedEventRelay(IActorRef accounts, SubscribeSessionEvents subscription, IActorRef confirmTo)
    {
        var subscriber = subscription.Subscriber;
        Context.Watch(subscriber);
        accounts.Tell(new SubscribeSessionEvents(Self, subscription.Did, IncludeTokens: true));
        Receive<SubscribeSessionEvents>(_ => confirmTo.Tell(subscription));
        Receive<SessionEvent>(e => subscriber.Tell(TrustedSessionEvent.Of(e)));
        Receive<Terminated>(t => t.ActorRef.Equals(subscriber), _ => Context.Stop(Self));
    }

    /// <summary>Its events come from the node's hub: one sent to it from outside the cluster would reach the trusted client.</summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Cluster.ClusterOutsiders.DropsForeign(Context, message, message is SessionEvent) || base.AroundReceive(receive, message);

    /// <summary>Props for the relay of <paramref name="subscription"/>.</summary>
    public static Props Props(IActorRef accounts, SubscribeSessionEvents subscription, IActorRef confirmTo) =>
        Akka.Actor.Props.Create(() => new TrustedEventRelay(accounts, subscription, confirmTo));
}
