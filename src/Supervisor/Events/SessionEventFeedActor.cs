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

    /// <inheritdoc />
    protected override void PreStart() => _accounts.Tell(new SubscribeSessionEvents(Self, Did: null, IncludeTokens: false));

    /// <summary>Props for the actor.</summary>
    public static Props Props(SessionEventFeed feed, IActorRef accounts) =>
        Akka.Actor.Props.Create(() => new SessionEventFeedActor(feed, accounts));
}
