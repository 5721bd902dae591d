using Akka.Actor;
using Akka.Event;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Clients;

/// <summary>
/// The entry of actor systems outside the cluster, one per node at <c>/user/clients</c>, registered with the node's
/// ClusterClientReceptionist (a client sends <c>ClusterClient.Send("/user/clients", message)</c>). It forwards the
/// protocol messages to the node's gateway (<c>/user/accounts</c>), whose answer goes back to the client through the
/// receptionist's response tunnel, and refuses with <see cref="AccountReplies.RefusedToClient"/> what would reveal
/// tokens: <see cref="ExportSession"/>, <see cref="BorrowAccessToken"/> (and its <see cref="ReturnAccessToken"/>), and
/// <see cref="SubscribeSessionEvents"/> with tokens. No client is trusted with those: remoting admits every holder of
/// the cluster's certificate alike (<see cref="Cluster.RemotingTls"/>), and nothing a ClusterClient sends identifies it
/// (its address is what it says it is), so there is no sound way to tell a trusted client from another. Session events
/// go to the subscriber's own reference (its path crosses the wire with its address), not through the receptionist's
/// response tunnel, which closes after a time without an answer.
/// </summary>
public sealed class ClientGateway : ReceiveActor
{
    /// <summary>The actor's name under <c>/user</c>; clients send to <c>/user/clients</c>.</summary>
    public const string Name = "clients";

    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Creates the gateway in front of <paramref name="accounts"/> (the node's <c>/user/accounts</c>).</summary>
    public ClientGateway(IActorRef accounts)
    {
        Receive<ExportSession>(m => Refuse(m, "an exported session holds the account's tokens; export it through the HTTP API with the admin token"));
        Receive<BorrowAccessToken>(m => Refuse(m, "a lent access token would leave the cluster; send CallXrpc instead"));
        Receive<ReturnAccessToken>(m => Refuse(m, "access tokens are not lent to clients outside the cluster"));
        Receive<SubscribeSessionEvents>(s => s.IncludeTokens, s => Refuse(s, "session events with tokens are not sent outside the cluster; subscribe with IncludeTokens = false"));
        Receive<IAccountMessage>(m => accounts.Forward(m));
        Receive<Login>(m => accounts.Forward(m));
        Receive<CreateAccount>(m => accounts.Forward(m));
        Receive<ImportSession>(m => accounts.Forward(m));
        Receive<ListAccounts>(m => accounts.Forward(m));
        Receive<GetAccountCounts>(m => accounts.Forward(m));
        Receive<GetSupervisorCounts>(m => accounts.Forward(m));
        Receive<SubscribeSessionEvents>(m => accounts.Forward(m));
        Receive<UnsubscribeSessionEvents>(m => accounts.Forward(m));
        ReceiveAny(m => Refuse(m, "not a message of the supervisor's protocol (AccountCommands)"));
    }

    private void Refuse(object message, string why)
    {
        var type = message.GetType().Name;
        _log.Warning("Refused {MessageType} from a client outside the cluster ({Sender}): {Reason}", type, Sender.Path, why);
        Sender.Tell(new AccountReplies.RefusedToClient(type, new XrpcError("NotAllowedToClients", why)));
    }

    /// <summary>Props for the gateway in front of <paramref name="accounts"/>.</summary>
    public static Props Props(IActorRef accounts) => Akka.Actor.Props.Create(() => new ClientGateway(accounts));
}
