using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// The subscription of its parent to a DistributedPubSub topic of the supervisor's own (the session events, the account
/// directory): passes on only the topic's message <typeparamref name="T"/>, and only from the supervisor's own actors
/// (<see cref="ClusterOutsiders.IsSupervisorActor"/>), with its sender. A ClusterClient publishes to any topic through
/// the receptionist, whose tunnel to it is an actor of the node: subscribed itself, the parent would take whatever a
/// client publishes there (an export, a loan, an unsubscription) as sent from inside, and answer the client.
/// </summary>
public sealed class OwnTopic<T> : ReceiveActor
{
    /// <summary>Subscribes to <paramref name="topic"/>.</summary>
    public OwnTopic(string topic)
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(topic, Self));
        Receive<SubscribeAck>(_ => { });
        ReceiveAny(message =>
        {
            if (!ClusterOutsiders.DropsForeign(Context, message, ownOnly: true) && message is T) Context.Parent.Forward(message);
        });
    }

    /// <summary>Props for the subscription to <paramref name="topic"/>.</summary>
    public static Props Props(string topic) => Akka.Actor.Props.Create(() => new OwnTopic<T>(topic));
}
