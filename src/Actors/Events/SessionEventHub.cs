using Akka.Actor;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Events;

/// <summary>
/// Fans session events out to subscribers (per account or for all accounts), stripping tokens for those
/// that did not ask for them, and forgets subscribers that stop. In a cluster every node's hub hears every node's
/// accounts; a <see cref="SubscribeLocalSessionEvents"/> subscriber hears only the accounts running on its own node
/// (each event once in the whole cluster: what writes the accounts' history uses it).
/// </summary>
public sealed class SessionEventHub : ReceiveActor
{
    private sealed record Subscription(string? Did, bool IncludeTokens, bool LocalOnly = false);

    private readonly Dictionary<IActorRef, List<Subscription>> _subscribers = new();

    /// <summary>Creates the hub.</summary>
    public SessionEventHub()
    {
        Receive<SubscribeSessionEvents>(s =>
        {
            // Tokens go to subscribers inside the cluster only (a trusted client outside it gets them through its relay).
            Add(s.Subscriber, new Subscription(s.Did, s.IncludeTokens && !Cluster.ClusterOutsiders.IsOutside(s.Subscriber, Context.System)));
            Sender.Tell(s);
        });
        Receive<SubscribeLocalSessionEvents>(s =>
        {
            Add(s.Subscriber, new Subscription(null, IncludeTokens: false, LocalOnly: true));
            Sender.Tell(s);
        });
        Receive<UnsubscribeSessionEvents>(u =>
        {
            if (_subscribers.Remove(u.Subscriber)) Context.Unwatch(u.Subscriber);
            Sender.Tell(u);
        });
        Receive<Terminated>(t => _subscribers.Remove(t.ActorRef));
        if (Context.System is ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider })
        {
            // Every node's hub hears every node's accounts: an account's events go through the topic, to all hubs.
            var mediator = Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.Get(Context.System).Mediator;
            mediator.Tell(new Akka.Cluster.Tools.PublishSubscribe.Subscribe(Topic, Self));
            Receive<Akka.Cluster.Tools.PublishSubscribe.SubscribeAck>(_ => { });
            // This node's own events reach its local subscribers here, before the topic; the topic brings them back
            // (with every other node's) to the other subscribers.
            Receive<SessionEvent>(e =>
            {
                Publish(e, toAll: false, toLocal: true);
                mediator.Tell(new Akka.Cluster.Tools.PublishSubscribe.Publish(Topic, new PublishedSessionEvent(e)));
            });
            Receive<PublishedSessionEvent>(p => Publish(p.Event, toAll: true, toLocal: false));
        }
        else
        {
            Receive<SessionEvent>(e => Publish(e, toAll: true, toLocal: true));
        }
    }

    /// <summary>The DistributedPubSub topic of session events.</summary>
    public const string Topic = "session-events";

    /// <summary>A session event on its way from an account's node to every node's hub.</summary>
    public sealed record PublishedSessionEvent(SessionEvent Event) : Serialization.IWireMessage;

    /// <summary>
    /// Subscribes <paramref name="Subscriber"/> (an actor of this node) to the session events, without tokens, of the
    /// accounts that run on this node only; answered with itself. Never sent between nodes.
    /// </summary>
    public sealed record SubscribeLocalSessionEvents(IActorRef Subscriber);

    private void Add(IActorRef subscriber, Subscription subscription)
    {
        if (!_subscribers.TryGetValue(subscriber, out var list))
        {
            _subscribers[subscriber] = list = new List<Subscription>();
            Context.Watch(subscriber);
        }
        // The same subscription again adds nothing (a client that subscribes at every reconnection).
        if (!list.Contains(subscription)) list.Add(subscription);
    }

    /// <summary>Hands <paramref name="e"/> to the subscribers for all nodes (<paramref name="toAll"/>) and those for this node's own (<paramref name="toLocal"/>).</summary>
    private void Publish(SessionEvent e, bool toAll, bool toLocal)
    {
        var stripped = e.WithoutTokens();
        foreach (var (subscriber, subscriptions) in _subscribers)
        {
            var matching = subscriptions.Where(s => (s.LocalOnly ? toLocal : toAll) && (s.Did is null || s.Did == e.Did)).ToList();
            if (matching.Count == 0) continue;
            subscriber.Tell(matching.Any(s => s.IncludeTokens) ? e : stripped);
        }
    }

    /// <summary>Props for the hub.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new SessionEventHub());
}
