using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Supervisor.Actors.Account;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Limits;
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
/// <see cref="SubscribeSessionEvents"/> with tokens, unless the message comes wrapped in an <see cref="AsTrustedClient"/>
/// whose secret matches a client the nodes trust (<see cref="TrustedClients"/>). Remoting admits every holder of the
/// cluster's certificate alike (<see cref="Cluster.RemotingTls"/>) and a ClusterClient's address is whatever it says it
/// is, so trust rests on the secret, never on the address. Session events go to the subscriber's own reference (its path
/// crosses the wire with its address), not through the receptionist's response tunnel, which closes after a time
/// without an answer; a trusted subscription with tokens goes through a <see cref="TrustedEventRelay"/> of this node.
/// <para>
/// A <see cref="CallXrpc"/> is sent to the PDS from this node, as the HTTP API does: the account lends its access token
/// for it (<see cref="BorrowAccessToken"/>, wherever in the cluster the account runs) and gets it back with the PDS's
/// answer, so the request's and the answer's bodies cross remoting only between the client and this node. After a
/// <c>400 ExpiredToken</c> the account refreshes (told by the returned loan) and the call is sent once more.
/// </para>
/// </summary>
public sealed class ClientGateway : ReceiveActor
{
    /// <summary>The actor's name under <c>/user</c>; clients send to <c>/user/clients</c>.</summary>
    public const string Name = "clients";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _accounts;
    private readonly TrustedClients _trusted;

    /// <summary>The relays of trusted subscriptions with tokens (and the account each is for), by the client's subscriber.</summary>
    private readonly Dictionary<IActorRef, List<(string? Did, IActorRef Relay)>> _relays = new();

    /// <summary>Whether a subscriber a client names is an actor of a system outside the cluster (its own), as it must be.</summary>
    private readonly Func<IActorRef, bool> _outside;

    /// <summary>The subscribers clients subscribed (without tokens) through this gateway, watched until they are gone.</summary>
    private readonly HashSet<IActorRef> _subscribed = new();

    private readonly PdsCalls _calls;

    /// <summary>The calls in flight of each account, at most <see cref="PdsCalls.MaxInFlight"/>.</summary>
    private readonly RequestsInFlight _inFlight;

    /// <summary>
    /// Creates the gateway in front of <paramref name="accounts"/> (the node's <c>/user/accounts</c>), sending clients'
    /// calls through <paramref name="calls"/>, trusting <paramref name="trusted"/>.
    /// </summary>
    public ClientGateway(IActorRef accounts, PdsCalls calls, TrustedClients trusted, Func<IActorRef, bool>? outside = null)
    {
        _accounts = accounts;
        _outside = outside ?? (actor => ClusterOutsiders.IsOutside(actor, Context.System));
        _calls = calls;
        _inFlight = new RequestsInFlight(calls.MaxInFlight);
        _trusted = trusted;
        Receive<AsTrustedClient>(OnTrusted);
        Receive<CallXrpc>(call => Call(call, trusted: false));
        // Who logged an account out is the client, whatever it says (the audit trail names it so).
        Receive<Logout>(logout => accounts.Forward(logout with { By = "client" }));
        Receive<RefreshNow>(OnRefreshNow);
        Receive<ExportSession>(m => Refuse(m, "an exported session holds the account's tokens; export it through the HTTP API with the admin token, or as a trusted client"));
        Receive<BorrowAccessToken>(m => Refuse(m, "a lent access token would leave the cluster; send CallXrpc instead"));
        Receive<ReturnAccessToken>(m => Refuse(m, "access tokens are not lent to clients outside the cluster that are not trusted"));
        Receive<SubscribeSessionEvents>(s => s.IncludeTokens, s => Refuse(s, "session events with tokens are sent only to trusted clients outside the cluster; subscribe with IncludeTokens = false"));
        // A reference sent by a client resolves to whatever actor its path names, this node's own too (the events feed, the
        // history writer, the hub itself, a trusted client's relay): a client's subscriber is an actor of its own system.
        Receive<SubscribeSessionEvents>(s => !_outside(s.Subscriber), s => Refuse(s, SubscriberInside));
        Receive<UnsubscribeSessionEvents>(u => !_outside(u.Subscriber), u => Refuse(u, SubscriberInside));
        // Nor of another client's system: subscribing its actors sends it events it did not ask for, unsubscribing silences it.
        Receive<SubscribeSessionEvents>(s => !OfClient(s.Subscriber), s => Refuse(s, SubscriberElsewhere));
        Receive<UnsubscribeSessionEvents>(u => !OfClient(u.Subscriber), u => Refuse(u, SubscriberElsewhere));
        Receive<SubscribeSessionEvents>(s =>
        {
            if (_subscribed.Add(s.Subscriber)) Context.Watch(s.Subscriber);
            accounts.Forward(s);
        });
        Receive<UnsubscribeSessionEvents>(u =>
        {
            // Only what a client subscribed here.
            var relayed = _relays.Remove(u.Subscriber, out var relays);
            if (!_subscribed.Remove(u.Subscriber) && !relayed)
            {
                Refuse(u, "only a subscriber subscribed through this node's gateway can be unsubscribed through it");
                return;
            }
            Context.Unwatch(u.Subscriber);
            foreach (var (_, relay) in relays ?? []) Context.Stop(relay);
            accounts.Forward(u);
        });
        Receive<Terminated>(t =>
        {
            _subscribed.Remove(t.ActorRef);
            foreach (var relays in _relays.Values) relays.RemoveAll(r => r.Relay.Equals(t.ActorRef));
            foreach (var empty in _relays.Where(r => r.Value.Count == 0).Select(r => r.Key).ToList()) _relays.Remove(empty);
        });
        ReceiveAny(m =>
        {
            if (IsServed(m)) accounts.Forward(m);
            else Refuse(m, "not a message of the supervisor's protocol (AccountCommands)");
        });
    }

    /// <summary>How soon after a client's refresh of an account another one through this gateway is refused (<see cref="OnRefreshNow"/>).</summary>
    public static readonly TimeSpan RefreshGap = TimeSpan.FromSeconds(10);

    /// <summary>When a client last had each account refreshed through this gateway (by the id it named, as calls are counted).</summary>
    private readonly Dictionary<string, long> _refreshedAt = new(StringComparer.Ordinal);

    /// <summary>
    /// A refresh a client asks for, at most one for an account every <see cref="RefreshGap"/> through this gateway: each is
    /// a call to the PDS and a journal write, and the tokens it brings are fresh for hours (the account refreshes on its
    /// own, and at once when the PDS refuses a token). Another one within the gap is refused with RateLimitExceeded.
    /// </summary>
    private void OnRefreshNow(RefreshNow refresh)
    {
        var now = Environment.TickCount64;
        var gap = (long)RefreshGap.TotalMilliseconds;
        var id = RequestsInFlight.Counted(refresh.AccountId);
        if (_refreshedAt.TryGetValue(id, out var last) && now - last < gap)
        {
            Sender.Tell(new AccountReplies.RefusedToClient(nameof(RefreshNow), new XrpcError("RateLimitExceeded",
                $"this account was refreshed through this node less than {RefreshGap.TotalSeconds:0} s ago on a client's word: its tokens are fresh")));
            return;
        }
        if (_refreshedAt.Count >= 4096)
            foreach (var old in _refreshedAt.Where(e => now - e.Value >= gap).Select(e => e.Key).ToList()) _refreshedAt.Remove(old);
        _refreshedAt[id] = now;
        _accounts.Forward(refresh);
    }

    /// <summary>Sends <paramref name="call"/> to the PDS for its client; a privileged method only for a trusted client.</summary>
    private void Call(CallXrpc call, bool trusted)
    {
        if (!trusted && MethodPatterns.Matches(_calls.PrivilegedMethods, call.Request.Nsid))
        {
            Refuse(call, $"{call.Request.Nsid} mints credentials or ends the account: only a trusted client may call it");
            return;
        }
        var counted = RequestsInFlight.Counted(call.AccountId);
        if (!_inFlight.TryEnter(counted))
        {
            Sender.Tell(XrpcResponse.RateLimited(
                $"this account has {_inFlight.Limit} calls in flight through this node (supervisor.proxy.max-in-flight): wait for one", DateTimeOffset.UtcNow.AddSeconds(1)));
            return;
        }
        var (client, inFlight) = (Sender, _inFlight);
        CallAsync(call).ContinueWith(t =>
        {
            inFlight.Leave(counted);
            client.Tell(t.IsCompletedSuccessfully ? t.Result : XrpcResponse.Failed("InternalError", "the call failed inside the supervisor; see its log"));
        }, TaskScheduler.Default);
    }

    /// <summary>The protocol messages without tokens a client may send, besides those handled on their own above (subscriptions, calls, logouts).</summary>
    private static bool IsServed(object message) => message is IAccountMessage or Login or CreateAccount or ImportSession
        or ListAccounts or GetAccountCounts or GetSupervisorCounts;

    private void OnTrusted(AsTrustedClient trusted)
    {
        var type = trusted.Message.GetType().Name;
        if (!_trusted.Verify(trusted.Client, trusted.Secret))
        {
            _log.Warning("Refused {MessageType} from {Sender}: not a trusted client (the secret given for {Client} does not match)", type, Sender.Path, trusted.Client);
            Sender.Tell(new AccountReplies.RefusedToClient(type, new XrpcError("NotAllowedToClients",
                $"'{trusted.Client}' is not a trusted client with this secret (SUPERVISOR_TRUSTED_CLIENTS on the nodes)")));
            return;
        }
        switch (trusted.Message)
        {
            case ExportSession export:
                _log.Info("Trusted client {Client} exports the session of {AccountId}", trusted.Client, export.AccountId);
                _accounts.Forward(export with { By = "trusted client " + trusted.Client });
                break;
            case SubscribeSessionEvents { IncludeTokens: true } subscribe when !_outside(subscribe.Subscriber):
                Refuse(subscribe, SubscriberInside);
                break;
            case SubscribeSessionEvents { IncludeTokens: true } subscribe when !OfClient(subscribe.Subscriber):
                Refuse(subscribe, SubscriberElsewhere);
                break;
            case SubscribeSessionEvents { IncludeTokens: true } subscribe:
                if (!_relays.TryGetValue(subscribe.Subscriber, out var relays)) _relays[subscribe.Subscriber] = relays = new();
                // The same subscription again (a client that subscribes at every reconnection) is the one it has.
                if (relays.Any(r => r.Did == subscribe.Did))
                {
                    Sender.Tell(subscribe);
                    break;
                }
                _log.Info("Trusted client {Client} subscribes to session events with tokens ({Did})", trusted.Client, subscribe.Did ?? "all accounts");
                var relay = Context.ActorOf(TrustedEventRelay.Props(_accounts, subscribe, Sender));
                Context.Watch(relay);
                relays.Add((subscribe.Did, relay));
                break;
            case BorrowAccessToken or ReturnAccessToken:
                _accounts.Forward(trusted.Message);
                break;
            case CallXrpc call:
                Call(call, trusted: true);
                break;
            case var message:
                Self.Forward(message);
                break;
        }
    }

    /// <summary>
    /// The account's answer to <paramref name="call"/>, sent from this node with a token the account lends for it, within
    /// ask-timeout in all (a second send only when a whole request-timeout is left).
    /// </summary>
    private async Task<object> CallAsync(CallXrpc call)
    {
        var (accounts, calls) = (_accounts, _calls);
        if (calls.SessionMethods.Contains(call.Request.Nsid))
            return XrpcResponse.Failed(XrpcError.InvalidRequest, $"{call.Request.Nsid} is not passed on: the supervisor owns this account's session");
        var started = Stopwatch.GetTimestamp();
        TimeSpan Left() => calls.AskTimeout - Stopwatch.GetElapsedTime(started);
        for (var attempt = 0; ; attempt++)
        {
            object reply;
            try
            {
                // As the HTTP API borrows: asked again at once when the account's shard just moved, after request-timeout
                // (a refresh in flight holds borrows) when nothing answers.
                reply = await accounts.AskAccountAsync(new BorrowAccessToken(call.AccountId, call.Request.Nsid, TraceParent: call.TraceParent),
                    Left(), firstTry: calls.RequestTimeout).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                return XrpcResponse.Failed(XrpcError.Timeout, "the account did not lend its token in time");
            }
            if (reply is not AccountReplies.AccessTokenLent loan) return reply;
            var answer = XrpcResponse.Failed(XrpcError.NetworkError, "the call was not sent");
            try
            {
                answer = await calls.Limits.SendAsync(loan.Pds, loan.Did, call.Request.Nsid, CallKind.Request, TimeProvider.System,
                    () => calls.Client.SendAsync(loan.Pds, call.Request, loan.AccessJwt)).ConfigureAwait(false);
            }
            finally
            {
                loan.GiveBack(accounts, answer.Status, answer.Error);
            }
            if (attempt > 0 || Left() < calls.RequestTimeout || AccountRules.ClassifyRequest(answer) != RequestOutcome.RefreshAndRetry) return answer;
        }
    }

    private const string SubscriberInside = "a client's subscriber is an actor of its own system, not of the cluster";

    private const string SubscriberElsewhere = "a client's subscriber is an actor of its own system, not of another client's";

    /// <summary>Whether <paramref name="subscriber"/> is an actor of the system the message being handled came from (which it must name).</summary>
    private bool OfClient(IActorRef subscriber) =>
        !Sender.IsNobody() && ClusterOutsiders.IsOf(subscriber, ClusterOutsiders.ClientAddress(Sender, Context.System), Context.System);

    private void Refuse(object message, string why)
    {
        var type = message.GetType().Name;
        _log.Warning("Refused {MessageType} from a client outside the cluster ({Sender}): {Reason}", type, Sender.Path, why);
        Sender.Tell(new AccountReplies.RefusedToClient(type, new XrpcError("NotAllowedToClients", why)));
    }

    /// <summary>Props for the gateway in front of <paramref name="accounts"/>, calling through <paramref name="calls"/>, trusting <paramref name="trusted"/> (none by default).</summary>
    /// <paramref name="outside"/> tells a client's own actors from the cluster's (<see cref="ClusterOutsiders.IsOutside"/> unless said).
    public static Props Props(IActorRef accounts, PdsCalls calls, TrustedClients? trusted = null, Func<IActorRef, bool>? outside = null) =>
        Akka.Actor.Props.Create(() => new ClientGateway(accounts, calls, trusted ?? TrustedClients.None, outside));
}
