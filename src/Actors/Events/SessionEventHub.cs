using Akka.Actor;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Events;

/// <summary>
/// Fans session events out to subscribers (per account or for all accounts), stripping tokens for those
/// that did not ask for them, and forgets subscribers that stop.
/// </summary>
public sealed class SessionEventHub : ReceiveActor
{
    private sealed record Subscription(string? Did, bool IncludeTokens);

    private readonly Dictionary<IActorRef, List<Subscription>> _subscribers = new();

    /// <summary>Creates the hub.</summary>
    public SessionEventHub()
    {
        Receive<SubscribeSessionEvents>(s =>
        {
            if (!_subscribers.TryGetValue(s.Subscriber, out var list))
            {
                _subscribers[s.Subscriber] = list = new List<Subscription>();
                Context.Watch(s.Subscriber);
            }
            list.Add(new Subscription(s.Did, s.IncludeTokens));
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
            Receive<SessionEvent>(e => mediator.Tell(new Akka.Cluster.Tools.PublishSubscribe.Publish(Topic, new PublishedSessionEvent(e))));
            Receive<PublishedSessionEvent>(p => Publish(p.Event));
        }
        else
        {
            Receive<SessionEvent>(Publish);
        }
    }

    /// <summary>The DistributedPubSub topic of session events.</summary>
    public const string Topic = "session-events";

    /// <summary>A session event on its way from an account's node to every node's hub.</summary>
    public sealed record PublishedSessionEvent(SessionEvent Event) : Serialization.IWireMessage;

    private void Publish(SessionEvent e)
    {
        var stripped = e.WithoutTokens();
        foreach (var (subscriber, subscriptions) in _subscribers)
        {
            var matching = subscriptions.Where(s => s.Did is null || s.Did == e.Did).ToList();
            if (matching.Count == 0) continue;
            subscriber.Tell(matching.Any(s => s.IncludeTokens) ? e : stripped);
        }
    }

    /// <summary>Props for the hub.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new SessionEventHub());
}
