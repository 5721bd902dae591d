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
/// so the asker sends it again through the accounts, which find the account's new home. The same holds for a request to
/// a bucket of the registry or of the login budgets (<see cref="IBucketRequest"/>: a lookup, a listing, a registration,
/// a login's spending) that an Ask waits for: answered <see cref="AccountReplies.AccountMoved"/> with the bucket's id, and
/// asked again (<see cref="AccountAsk.AskBucketAsync{T}"/>); and for a new session an account is to adopt
/// (<see cref="Account.AdoptSession"/>), which the accounts supervisor sends by an Ask of its own and sends again. What
/// an actor told a bucket without waiting (an account's new status) is left alone. A lent token whose borrower stopped
/// waiting (its Ask timed out) is given back to the lender at once, so that it does not hold the account's next rotation
/// until the loan expires. A call an account made itself, answered after the account stopped (a failed journal write
/// stops it at once; the shard's stop for a hand-over does not wait for calls in flight), reaches its caller all the same.
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
            if (message is AccountReplies.AccessTokenLent { Lender: { } lender } lent)
            {
                // A loan an account sent (one sent to no one from outside the cluster would end another's loan early).
                if (ClusterOutsiders.IsSupervisorActor(asker, Context.System)) lent.GiveBack(lender);
                return;
            }
            switch (message)
            {
                // A call the account made itself, answered after the account had stopped (a failed journal write, a
                // hand-over): the PDS's answer goes to the caller, or, if the PDS refused the token, the caller is told
                // to send the call again (the account's next run refreshes).
                case Account.AccountSelfMessages.RequestAnswered answered:
                    answered.ReplyTo.Tell(Account.AccountRules.ClassifyRequest(answered.Answer) == Account.RequestOutcome.RefreshAndRetry
                        ? new AccountReplies.AccountMoved(answered.Call.AccountId)
                        : answered.Answer);
                    return;
                case Account.AccountSelfMessages.RetryCall retry:
                    retry.ReplyTo.Tell(new AccountReplies.AccountMoved(retry.Call.AccountId));
                    return;
                // A logout whose deleteSession (or the journal's answer before it) came back after the account stopped: the
                // logout is asked again, and the next run, which recovers the pending deletion, answers it.
                case Account.AccountSelfMessages.DeleteAnswered { ReplyTo: { } replyTo } deleted:
                    replyTo.Tell(new AccountReplies.AccountMoved(deleted.Did));
                    return;
                case Account.AccountSelfMessages.DeleteOwnershipChecked { ReplyTo: { } replyTo } checkedOwner:
                    replyTo.Tell(new AccountReplies.AccountMoved(checkedOwner.Did));
                    return;
            }
            string? entity = null;
            if (message is ShardingEnvelope envelope) (entity, message) = (envelope.EntityId, envelope.Message);
            if (asker is null || asker.IsNobody() || asker.Equals(Context.System.DeadLetters) || message is ReturnAccessToken) return;
            var moved = message switch
            {
                IAccountMessage request => request.AccountId,
                IBucketRequest when entity is not null && IsAsk(asker) => entity,
                // Only the accounts supervisor sends a session to adopt, by an Ask of its own that sends it again.
                Account.AdoptSession adopt when IsAsk(asker) => adopt.Grant.Did,
                _ => null,
            };
            if (moved is null) return;
            _log.Info("A {MessageType} for {Entity} was dropped on this node as it moved: answered that it moved", message.GetType().Name, moved);
            asker.Tell(new AccountReplies.AccountMoved(moved));
        });
    }

    /// <summary>Whether <paramref name="asker"/> is an Ask's temporary actor (it waits for exactly one answer).</summary>
    private static bool IsAsk(IActorRef asker) => asker.Path.Elements is ["temp", ..];

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(AllDeadLetters));

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
