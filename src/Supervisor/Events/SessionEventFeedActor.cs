using Akka.Actor;
using Supervisor.Actors.Events;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Host.Events;

/// <summary>Subscribes to every account's session events, without tokens, and hands them to the <see cref="SessionEventFeed"/>.</summary>
public sealed class SessionEventFeedActor : ReceiveActor
{
    private readonly IActorRef _accounts;

    /// <summary>Creates the actor; it subscribes at <paramref name="accounts"/> when it starts.</summary>
    public SessionEventFeedActor(SessionEventFeed feed, IActorRef accounts)
    {
        _accounts = accounts;
        Receive<SessionEvent>(e => feed.Publish(e));
        Receive<SubscribeSessionEvents>(_ => { });
    }

    /// <summary>Its events come from the node's hub: one sent to it from outside the cluster would reach every /events reader.</summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Supervisor.Actors.Cluster.ClusterOutsiders.DropsForeign(Context, message, message is SessionEvent) || base.AroundReceive(receive, message);

    /// <inheritdoc />
    protected override void PreStart() => _accounts.Tell(new SubscribeSessionEvents(Self, Did: null, IncludeTokens: false));

    /// <summary>Props for the actor.</summary>
    public static Props Props(SessionEventFeed feed, IActorRef accounts) =>
        Akka.Actor.Props.Create(() => new SessionEventFeedActor(feed, accounts));
}
