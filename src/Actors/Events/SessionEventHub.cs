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

    /// <summary>
    /// The subscriptions that can match an event of any account (those for all accounts): with or without tokens, and
    /// this node's accounts only (never with tokens). A kind of subscription added later must be added here too.
    /// </summary>
    private static readonly Subscription[] ForEveryAccount = [new(null, false), new(null, true), new(null, false, LocalOnly: true)];

    private readonly Dictionary<IActorRef, HashSet<Subscription>> _subscribers = new();

    // Who to look at for an event: the subscribers for all accounts, and those for its account. A system integrating by
    // messages subscribes for each of its accounts (100,000 on a node), so neither a subscription nor an event may walk
    // every subscription of a subscriber.
    private readonly HashSet<IActorRef> _forEveryAccount = new();
    private readonly Dictionary<string, HashSet<IActorRef>> _forAccount = new(StringComparer.Ordinal);

    /// <summary>Creates the hub.</summary>
    public SessionEventHub()
    {
        Receive<SubscribeSessionEvents>(s =>
        {
            if (Refusal(s) is { } refused)
            {
                Refuse(nameof(SubscribeSessionEvents), refused);
                return;
            }
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
            if (FromOutsideFor(u.Subscriber))
            {
                // Around the gateway: the events feed, the history writer or a trusted client's relay would go silent.
                Refuse(nameof(UnsubscribeSessionEvents), "an unsubscription comes with its sender, and from outside the cluster names an actor of the sender's own system");
                return;
            }
            if (Remove(u.Subscriber)) Context.Unwatch(u.Subscriber);
            Sender.Tell(u);
        });
        Receive<Terminated>(t => Remove(t.ActorRef));
        if (Context.System is ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider })
        {
            // Every node's hub hears every node's accounts: an account's events go through the topic, to all hubs.
            var mediator = Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.Get(Context.System).Mediator;
            Context.ActorOf(Cluster.OwnTopic<PublishedSessionEvent>.Props(Topic), "topic");
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

    /// <summary>
    /// Events come from this node's accounts and, through the topic, from the other nodes' hubs: never from a system
    /// outside the cluster (to the hub, or published to the topic through a ClusterClient), whose events of its making
    /// (a token pair of its own among them) would reach every subscriber, the history and the trusted clients.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Cluster.ClusterOutsiders.DropsForeign(Context, message, message is SessionEvent or PublishedSessionEvent) || base.AroundReceive(receive, message);

    /// <summary>The DistributedPubSub topic of session events.</summary>
    public const string Topic = "session-events";

    /// <summary>A session event on its way from an account's node to every node's hub.</summary>
    public sealed record PublishedSessionEvent(SessionEvent Event) : Serialization.IWireMessage;

    /// <summary>
    /// Subscribes <paramref name="Subscriber"/> (an actor of this node) to the session events, without tokens, of the
    /// accounts that run on this node only; answered with itself. Never sent between nodes.
    /// </summary>
    public sealed record SubscribeLocalSessionEvents(IActorRef Subscriber);

    /// <summary>
    /// Why <paramref name="s"/> is not taken, or null. A subscriber's reference crosses the wire as a path, which a node
    /// resolves to whatever actor of its own it names: a hub (this one, or another node's) would hand every event it
    /// hears back to itself and to the topic, for ever; an actor of the cluster subscribed by a system outside it (the
    /// events feed, the history writer) would take every event of the cluster as its own; one of another system outside
    /// would get events it did not ask for. A DID is a DID.
    /// </summary>
    private string? Refusal(SubscribeSessionEvents s)
    {
        if (s.Subscriber.Path.ToStringWithoutAddress() == Self.Path.ToStringWithoutAddress()) return "a session events' hub cannot subscribe to session events";
        if (FromOutsideFor(s.Subscriber)) return "a subscription comes with its sender, and from outside the cluster names an actor of the sender's own system";
        if (s.Did is { } did && (!did.StartsWith("did:", StringComparison.Ordinal) || did.Length > Identity.DidSyntax.MaxLength)) return "Did is not a DID";
        return null;
    }

    private void Refuse(string messageType, string why) =>
        Sender.Tell(new Protocol.AccountReplies.RefusedToClient(messageType, new Pds.XrpcError("InvalidRequest", why)));

    /// <summary>
    /// Whether the message comes without a sender (the node's own actors send with theirs), or from a system outside the
    /// cluster and names a <paramref name="subscriber"/> not of that system.
    /// </summary>
    private bool FromOutsideFor(IActorRef subscriber) =>
        Sender.IsNobody()
        || Cluster.ClusterOutsiders.IsOutside(Sender, Context.System) && !Cluster.ClusterOutsiders.IsOf(subscriber, Sender.Path.Address, Context.System);

    private void Add(IActorRef subscriber, Subscription subscription)
    {
        if (!_subscribers.TryGetValue(subscriber, out var subscriptions))
        {
            _subscribers[subscriber] = subscriptions = new HashSet<Subscription>();
            Context.Watch(subscriber);
        }
        // The same subscription again adds nothing (a client that subscribes at every reconnection).
        if (!subscriptions.Add(subscription)) return;
        if (subscription.Did is not { } did) _forEveryAccount.Add(subscriber);
        else if (_forAccount.TryGetValue(did, out var subscribers)) subscribers.Add(subscriber);
        else _forAccount[did] = new HashSet<IActorRef> { subscriber };
    }

    private bool Remove(IActorRef subscriber)
    {
        if (!_subscribers.Remove(subscriber, out var subscriptions)) return false;
        _forEveryAccount.Remove(subscriber);
        foreach (var subscription in subscriptions)
            if (subscription.Did is { } did && _forAccount.TryGetValue(did, out var subscribers) && subscribers.Remove(subscriber) && subscribers.Count == 0)
                _forAccount.Remove(did);
        return true;
    }

    /// <summary>Hands <paramref name="e"/> to the subscribers for all nodes (<paramref name="toAll"/>) and those for this node's own (<paramref name="toLocal"/>).</summary>
    private void Publish(SessionEvent e, bool toAll, bool toLocal)
    {
        var stripped = e.WithoutTokens();
        Subscription[] forThisAccount = [new(e.Did, false), new(e.Did, true)];
        foreach (var subscriber in _forEveryAccount) Deliver(subscriber);
        if (_forAccount.TryGetValue(e.Did, out var subscribers))
            foreach (var subscriber in subscribers)
                if (!_forEveryAccount.Contains(subscriber)) Deliver(subscriber);

        // Once to each subscriber whatever its subscriptions that match, with tokens when one of them asked for them.
        void Deliver(IActorRef subscriber)
        {
            if (!_subscribers.TryGetValue(subscriber, out var subscriptions)) return;
            bool matches = false, tokens = false;
            foreach (var candidate in ForEveryAccount) Match(candidate);
            foreach (var candidate in forThisAccount) Match(candidate);
            if (matches) subscriber.Tell(tokens ? e : stripped);

            void Match(Subscription candidate)
            {
                if (!subscriptions.Contains(candidate) || !(candidate.LocalOnly ? toLocal : toAll)) return;
                matches = true;
                tokens |= candidate.IncludeTokens;
            }
        }
    }

    /// <summary>Props for the hub.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new SessionEventHub());
}
