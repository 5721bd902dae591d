using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Serialization;
using static Supervisor.Actors.Keys.KeyCommands;
using static Supervisor.Actors.Keys.KeyEvents;

namespace Supervisor.Actors.Keys;

/// <summary>
/// Owns the account keys and the sessions opened with them (persistence id <c>account-keys</c>), one in the cluster (a
/// cluster singleton on the supervisor nodes, reached through its proxy): issues keys (only the hash of the secret
/// comes here and is journaled), revokes them, records their last use at most once a minute, and opens, rotates and
/// closes key sessions, each key within its budgets of openings and rotations (<see cref="KeySessionBudget"/>). Each event it journals goes to every node's <see cref="AccountKeysReplica"/> that registered
/// (<see cref="KeyReplication"/>), which is what the HTTP layer reads, and a change is answered once every supervisor
/// node up in the cluster has a replica registered that says it holds it (or after
/// <c>supervisor.keys.replica-ack-timeout</c>, so that a node going away holds no change up for longer): a key issued or
/// revoked through one node is known to every node from the next request on. It tells the audit trail what handed out
/// or ended access.
/// </summary>
public sealed class AccountKeys : ReceivePersistentActor, IWithTimers
{
    /// <summary>The journal id.</summary>
    public const string Id = "account-keys";

    /// <summary>How long a rotated key-session refresh token stays usable (as at the reference PDS).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromHours(2);

    private sealed record TellProgress
    {
        public static readonly TellProgress Instance = new();
    }

    /// <summary>The replicas have had their time to hold the event <paramref name="SequenceNr"/>: its answer goes now.</summary>
    private sealed record StopWaitingFor(long SequenceNr);

    /// <summary>Every registered replica and the sequence number of the last event it said it holds.</summary>
    private readonly Dictionary<IActorRef, long> _replicas = new();

    /// <summary>Answers to changes waiting until every replica holds their event, in sequence order.</summary>
    private readonly Queue<(long SequenceNr, Action Answer)> _waiting = new();

    private readonly TimeSpan _ackTimeout = AckTimeoutOf(Context.System);
    private readonly KeySessionBudget _budget;
    private readonly IActorRef _audit;
    private readonly TimeProvider _time;
    private AccountKeysState _state = AccountKeysState.Empty;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>
    /// Only this node and the cluster's members are served: a system outside it that holds the certificate gets nothing,
    /// and a change comes with the sender that asked for it (a message without one may have come from outside).
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        bool Outside(IActorRef actor) => Cluster.ClusterOutsiders.IsOutside(actor, Context.System);
        var refused = message switch
        {
            KeyReplication.RegisterReplica register => Outside(register.Replica) || Outside(Sender),
            KeyReplication.KeysHeld held => Outside(held.Replica) || Outside(Sender),
            RecordKeyUse => Outside(Sender),
            IssueKey or RevokeKey or OpenKeySession or RotateKeySession or CloseKeySession => Sender.IsNobody() || Outside(Sender),
            _ => false,
        };
        if (!refused) return base.AroundReceive(receive, message);
        _log.Warning("Account keys: refused {MessageType} from {Sender}, outside the cluster or without a sender", message.GetType().Name, Sender.Path.Address);
        return true;
    }

    /// <inheritdoc />
    public override string PersistenceId => Id;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the keys actor, with the <see cref="KeySessionLimits.Standard"/> budgets when <paramref name="limits"/> is left out.</summary>
    public static Props Props(IActorRef audit, TimeProvider? time = null, KeySessionLimits? limits = null) =>
        Akka.Actor.Props.Create(() => new AccountKeys(audit, time ?? TimeProvider.System, limits ?? KeySessionLimits.Standard));

    /// <summary>Creates the actor; recovery rebuilds the keys, the sessions and the sessions' budget.</summary>
    public AccountKeys(IActorRef audit, TimeProvider time, KeySessionLimits limits)
    {
        _audit = audit;
        _time = time;
        _budget = new KeySessionBudget(limits);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not KeysSnapshot snapshot) return;
            _state = AccountKeysState.Of(snapshot);
            _budget.Restore(snapshot.Calls);
        });
        Recover<IKeyEvent>(Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            Timers.StartPeriodicTimer("progress", TellProgress.Instance, TimeSpan.Zero, HeartbeatOf(Context.System));
            _log.Info("Account keys: {Keys} keys, {Sessions} open key sessions, journaled up to {SequenceNr}", _state.Keys.Count, _state.Sessions.Count, LastSequenceNr);
        });
        Command<TellProgress>(_ => Publish(new KeyReplication.KeysJournaledUpTo(LastSequenceNr)));
        Command<KeyReplication.RegisterReplica>(register =>
        {
            if (_replicas.TryAdd(register.Replica, -1)) Context.Watch(register.Replica);
            register.Replica.Tell(new KeyReplication.KeysJournaledUpTo(LastSequenceNr));
        });
        Command<KeyReplication.KeysHeld>(held =>
        {
            if (!_replicas.TryGetValue(held.Replica, out var before) || held.SequenceNr <= before) return;
            _replicas[held.Replica] = held.SequenceNr;
            AnswerHeld();
        });
        Command<Terminated>(t =>
        {
            _replicas.Remove(t.ActorRef);
            AnswerHeld();
        });
        Command<StopWaitingFor>(timeout =>
        {
            if (!EveryNodeHolds(timeout.SequenceNr))
            {
                var behind = _replicas.Where(r => r.Value < timeout.SequenceNr).Select(r => r.Key.Path.ToString()).ToList();
                _log.Warning("Account keys: answering the change {SequenceNr} before every node said it holds it (no answer within {Timeout}; " +
                             "registered replicas behind: {Replicas})", timeout.SequenceNr, _ackTimeout, behind);
            }
            while (_waiting.TryPeek(out var first) && first.SequenceNr <= timeout.SequenceNr) _waiting.Dequeue().Answer();
        });
        Command<IssueKey>(OnIssue);
        Command<RevokeKey>(revoke =>
        {
            if (!_state.Keys.TryGetValue(revoke.Id, out var key))
            {
                Sender.Tell(new KeyNotFound(revoke.Id));
                return;
            }
            var replyTo = Sender;
            if (key.RevokedAt is not null)
            {
                replyTo.Tell(new KeyRevokedReply(key, LastSequenceNr));
                return;
            }
            Save(new KeyRevoked(revoke.Id, revoke.By, Now), () =>
            {
                _audit.Tell(new AuditEntry(Now, "KeyRevoked", key.Did, revoke.By, $"key {key.Id}"));
                replyTo.Tell(new KeyRevokedReply(_state.Keys[revoke.Id], LastSequenceNr));
            });
        });
        Command<RecordKeyUse>(use =>
        {
            if (_state.Keys.TryGetValue(use.Id, out var key) && (key.LastUsedAt is not { } last || Now - last >= TimeSpan.FromMinutes(1)))
                Save(new KeyUsed(use.Id, Now), () => { });
        });
        Command<OpenKeySession>(open =>
        {
            if (!_state.Keys.TryGetValue(open.KeyId, out var key) || !key.IsUsable(Now))
            {
                Sender.Tell(new KeySessionRefused("the key is not usable"));
                return;
            }
            if (_budget.OpenRefused(open.KeyId, Now) is { } spent)
            {
                Sender.Tell(new KeySessionsSpent(spent.At, spent.Spent));
                return;
            }
            var replyTo = Sender;
            var sid = NewId();
            Save(new KeySessionOpened(sid, open.KeyId, NewId(), open.ExpiresAt, Now), () =>
            {
                _audit.Tell(new AuditEntry(Now, "KeySessionOpened", key.Did, "key:" + key.Id, $"session {sid}"));
                replyTo.Tell(new KeySessionReply(_state.Sessions[sid], LastSequenceNr));
            });
        });
        Command<RotateKeySession>(rotate =>
        {
            var replyTo = Sender;
            if (Refusal(rotate.Sid, rotate.Jti, out var session) is { } refused)
            {
                replyTo.Tell(refused);
                return;
            }
            if (session.Jti != rotate.Jti)
            {
                replyTo.Tell(new KeySessionReply(session, LastSequenceNr)); // the one before, within its grace: the same successor
                return;
            }
            if (_budget.RotationRefused(session.KeyId, Now) is { } spent)
            {
                replyTo.Tell(new KeySessionsSpent(spent.At, spent.Spent));
                return;
            }
            Save(new KeySessionRotated(rotate.Sid, NewId(), Now), () => replyTo.Tell(new KeySessionReply(_state.Sessions[rotate.Sid], LastSequenceNr)));
        });
        Command<CloseKeySession>(close =>
        {
            var replyTo = Sender;
            if (Refusal(close.Sid, close.Jti, out var session) is { } refused)
            {
                replyTo.Tell(refused);
                return;
            }
            Save(new KeySessionClosed(close.Sid, Now), () =>
            {
                var key = _state.Keys.GetValueOrDefault(session.KeyId);
                _audit.Tell(new AuditEntry(Now, "KeySessionClosed", key?.Did, "key:" + session.KeyId, $"session {close.Sid}"));
                replyTo.Tell(new KeySessionReply(session, LastSequenceNr));
            });
        });
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Account keys: snapshot failed"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>How often the owner tells the replicas how far it has journaled, and they register again (<c>supervisor.keys.heartbeat</c>).</summary>
    internal static TimeSpan HeartbeatOf(ActorSystem system) => system.Settings.Config.GetTimeSpan("supervisor.keys.heartbeat", TimeSpan.FromSeconds(5), false);

    /// <summary>How long a change waits for the replicas to hold it before it is answered anyway (<c>supervisor.keys.replica-ack-timeout</c>).</summary>
    private static TimeSpan AckTimeoutOf(ActorSystem system) => system.Settings.Config.GetTimeSpan("supervisor.keys.replica-ack-timeout", TimeSpan.FromSeconds(3), false);

    private void OnIssue(IssueKey issue)
    {
        var replyTo = Sender;
        if (_state.Keys.ContainsKey(issue.Id))
        {
            // Ids are 16 random bytes made by the issuing node: a repeat is a message sent twice, answered as before.
            replyTo.Tell(new KeyIssuedReply(_state.Keys[issue.Id], LastSequenceNr));
            return;
        }
        Save(new KeyIssued(issue.Id, issue.Did, issue.Name, issue.Hash, issue.ExpiresAt, issue.Allow, issue.By, Now), () =>
        {
            _log.Info("Account key {KeyId} issued for {Did} by {Credential}", issue.Id, issue.Did, issue.By);
            _audit.Tell(new AuditEntry(Now, "KeyIssued", issue.Did, issue.By, $"key {issue.Id}"));
            replyTo.Tell(new KeyIssuedReply(_state.Keys[issue.Id], LastSequenceNr));
        });
    }

    /// <summary>Why <paramref name="jti"/> cannot act for the session <paramref name="sid"/>, or null when it can.</summary>
    private KeySessionRefused? Refusal(string sid, string jti, out KeySession session)
    {
        if (!_state.Sessions.TryGetValue(sid, out session!)) return new KeySessionRefused("Token has been revoked");
        if (session.ExpiresAt <= Now) return new KeySessionRefused("Token has expired");
        if (!_state.Keys.TryGetValue(session.KeyId, out var key) || !key.IsUsable(Now)) return new KeySessionRefused("Token has been revoked");
        var inGrace = session.PreviousJti == jti && session.RotatedAt is { } rotated && Now - rotated < Grace;
        return session.Jti == jti || inGrace ? null : new KeySessionRefused("Token has been revoked");
    }

    /// <summary>The state, and the sessions' budget, after <paramref name="e"/>.</summary>
    private void Apply(IKeyEvent e)
    {
        _budget.Count(e, _state);
        _state = _state.Apply(e);
    }

    private void Save(IKeyEvent e, Action then) => Persist(e, persisted =>
    {
        Apply(persisted);
        Publish(new KeyReplication.KeyEventJournaled(LastSequenceNr, persisted));
        if (LastSequenceNr % 200 == 0) SaveSnapshot(_state.ToSnapshot() with { Calls = _budget.ToSnapshot(Now) });
        _waiting.Enqueue((LastSequenceNr, then));
        Timers.StartSingleTimer(("held", LastSequenceNr), new StopWaitingFor(LastSequenceNr), _ackTimeout);
        AnswerHeld();
    });

    /// <summary>Answers the changes whose event every node holds.</summary>
    private void AnswerHeld()
    {
        while (_waiting.TryPeek(out var first) && EveryNodeHolds(first.SequenceNr))
        {
            Timers.Cancel(("held", first.SequenceNr));
            _waiting.Dequeue().Answer();
        }
    }

    /// <summary>
    /// Whether every registered replica holds the event <paramref name="sequenceNr"/>, and every supervisor node that
    /// is up in the cluster has registered one: an owner that just moved learns of the replicas as they register again,
    /// and does not count a node as holding a change before its replica said so.
    /// </summary>
    private bool EveryNodeHolds(long sequenceNr)
    {
        if (!_replicas.Values.All(held => held >= sequenceNr)) return false;
        if (Context.System is not ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider }) return true;
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        var registered = _replicas.Keys.Select(r => r.Path.Address.HasLocalScope ? cluster.SelfAddress : r.Path.Address).ToHashSet();
        return cluster.State.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(Cluster.ClusterRoles.Supervisor))
            .All(m => registered.Contains(m.Address));
    }

    private void Publish(object message)
    {
        foreach (var replica in _replicas.Keys) replica.Tell(message);
    }

    private static string NewId() => Session.JwtClaims.EncodeSegment(RandomNumberGenerator.GetBytes(16));
}
