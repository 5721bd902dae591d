using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// Answers the requests that reach this node for an account that has just left it (its shard handed over to another
/// node, or the node stopping): sharding drops what arrives for a shard or an account that has stopped, and the asker
/// would wait out its whole timeout. A request for an account (a loan, a call by message, a status, ...) found among this
/// node's dead letters with an asker is answered <see cref="AccountReplies.AccountMoved"/>: it never reached the account,
/// so the asker sends it again through the accounts, which find the account's new home.
/// </summary>
public sealed class LeftBehindRequests : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Props for the answerer (one a node).</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new LeftBehindRequests());

    /// <summary>Answers the requests among the dead letters that an asker waits for.</summary>
    public LeftBehindRequests()
    {
        Receive<AllDeadLetters>(dead =>
        {
            // Sharding drops what it buffered for a shard being handed over as a Dropped sent to the dead letters.
            var (message, asker) = dead.Message is Dropped dropped ? (dropped.Message, dropped.Sender) : (dead.Message, dead.Sender);
            if (message is ShardingEnvelope envelope) message = envelope.Message;
            if (message is not IAccountMessage request || message is ReturnAccessToken || asker is null || asker.IsNobody()
                || asker.Equals(Context.System.DeadLetters)) return;
            _log.Info("A {MessageType} for {AccountId} was dropped on this node as the account moved: answered that it moved", message.GetType().Name, request.AccountId);
            asker.Tell(new AccountReplies.AccountMoved(request.AccountId));
        });
    }

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(AllDeadLetters));

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
