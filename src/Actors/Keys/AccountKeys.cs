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
/// Owns the account keys and the sessions opened with them (persistence id <c>account-keys</c>): issues keys
/// (only the hash of the secret is journaled; the key is answered once), revokes them, records their last use at
/// most once a minute, and opens, rotates and closes key sessions. After every change it publishes the state to
/// the <see cref="AccountKeyIndex"/> that the HTTP layer reads, and tells the audit trail what handed out or ended
/// access.
/// </summary>
public sealed class AccountKeys : ReceivePersistentActor
{
    /// <summary>The journal id.</summary>
    public const string Id = "account-keys";

    /// <summary>How long a rotated key-session refresh token stays usable (as at the reference PDS).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromHours(2);

    private readonly AccountKeyIndex _index;
    private readonly IActorRef _audit;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, AccountKeyInfo> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KeySession> _sessions = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <inheritdoc />
    public override string PersistenceId => Id;

    /// <summary>Props for the keys actor.</summary>
    public static Props Props(AccountKeyIndex index, IActorRef audit, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new AccountKeys(index, audit, time ?? TimeProvider.System));

    /// <summary>Creates the actor; recovery rebuilds the keys and sessions.</summary>
    public AccountKeys(AccountKeyIndex index, IActorRef audit, TimeProvider time)
    {
        _index = index;
        _audit = audit;
        _time = time;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not KeysSnapshot snapshot) return;
            foreach (var k in snapshot.Keys) _keys[k.Id] = k;
            foreach (var s in snapshot.Sessions) _sessions[s.Sid] = s;
        });
        Recover<IJournaled>(Apply);
        Recover<RecoveryCompleted>(_ => Publish());

        Command<IssueKey>(OnIssue);
        Command<RevokeKey>(revoke =>
        {
            if (!_keys.TryGetValue(revoke.Id, out var key))
            {
                Sender.Tell(new KeyNotFound(revoke.Id));
                return;
            }
            var replyTo = Sender;
            if (key.RevokedAt is not null)
            {
                replyTo.Tell(new KeyRevokedReply(key));
                return;
            }
            Save(new KeyRevoked(revoke.Id, revoke.By, Now), () =>
            {
                _audit.Tell(new AuditEntry(Now, "KeyRevoked", key.Did, revoke.By, $"key {key.Id}"));
                replyTo.Tell(new KeyRevokedReply(_keys[revoke.Id]));
            });
        });
        Command<RecordKeyUse>(use =>
        {
            if (_keys.TryGetValue(use.Id, out var key) && (key.LastUsedAt is not { } last || Now - last >= TimeSpan.FromMinutes(1)))
                Save(new KeyUsed(use.Id, Now), () => { });
        });
        Command<OpenKeySession>(open =>
        {
            if (!_keys.TryGetValue(open.KeyId, out var key) || !key.IsUsable(Now))
            {
                Sender.Tell(new KeySessionRefused("the key is not usable"));
                return;
            }
            var replyTo = Sender;
            var sid = NewId();
            Save(new KeySessionOpened(sid, open.KeyId, NewId(), open.ExpiresAt, Now), () =>
            {
                _audit.Tell(new AuditEntry(Now, "KeySessionOpened", key.Did, "key:" + key.Id, $"session {sid}"));
                replyTo.Tell(new KeySessionReply(_sessions[sid]));
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
                replyTo.Tell(new KeySessionReply(session)); // the one before, within its grace: the same successor
                return;
            }
            Save(new KeySessionRotated(rotate.Sid, NewId(), Now), () => replyTo.Tell(new KeySessionReply(_sessions[rotate.Sid])));
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
                var key = _keys.GetValueOrDefault(session.KeyId);
                _audit.Tell(new AuditEntry(Now, "KeySessionClosed", key?.Did, "key:" + session.KeyId, $"session {close.Sid}"));
                replyTo.Tell(new KeySessionReply(session));
            });
        });
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Account keys: snapshot failed"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private void OnIssue(IssueKey issue)
    {
        var replyTo = Sender;
        var (id, key, hash) = AccountKey.New();
        Save(new KeyIssued(id, issue.Did, issue.Name, hash, issue.ExpiresAt, issue.Allow, issue.By, Now), () =>
        {
            _log.Info("Account key {KeyId} issued for {Did} by {Credential}", id, issue.Did, issue.By);
            _audit.Tell(new AuditEntry(Now, "KeyIssued", issue.Did, issue.By, $"key {id}"));
            replyTo.Tell(new KeyIssuedReply(_keys[id], key));
        });
    }

    /// <summary>Why <paramref name="jti"/> cannot act for the session <paramref name="sid"/>, or null when it can.</summary>
    private KeySessionRefused? Refusal(string sid, string jti, out KeySession session)
    {
        if (!_sessions.TryGetValue(sid, out session!)) return new KeySessionRefused("Token has been revoked");
        if (session.ExpiresAt <= Now) return new KeySessionRefused("Token has expired");
        if (!_keys.TryGetValue(session.KeyId, out var key) || !key.IsUsable(Now)) return new KeySessionRefused("Token has been revoked");
        var inGrace = session.PreviousJti == jti && session.RotatedAt is { } rotated && Now - rotated < Grace;
        return session.Jti == jti || inGrace ? null : new KeySessionRefused("Token has been revoked");
    }

    private void Save(IJournaled e, Action then) => Persist(e, persisted =>
    {
        Apply(persisted);
        Publish();
        if (LastSequenceNr % 200 == 0) SaveSnapshot(new KeysSnapshot(_keys.Values.ToList(), _sessions.Values.ToList()));
        then();
    });

    private void Apply(IJournaled e)
    {
        switch (e)
        {
            case KeyIssued k:
                _keys[k.Id] = new AccountKeyInfo(k.Id, k.Did, k.Name, k.Hash, k.ExpiresAt, k.Allow, k.By, k.At);
                break;
            case KeyRevoked r when _keys.TryGetValue(r.Id, out var key):
                _keys[r.Id] = key with { RevokedAt = r.At };
                foreach (var s in _sessions.Values.Where(s => s.KeyId == r.Id).ToList()) _sessions.Remove(s.Sid);
                break;
            case KeyUsed u when _keys.TryGetValue(u.Id, out var used):
                _keys[u.Id] = used with { LastUsedAt = u.At };
                break;
            case KeySessionOpened o:
                _sessions[o.Sid] = new KeySession(o.Sid, o.KeyId, o.Jti, null, null, o.ExpiresAt);
                break;
            case KeySessionRotated r when _sessions.TryGetValue(r.Sid, out var session):
                _sessions[r.Sid] = session with { PreviousJti = session.Jti, Jti = r.Jti, RotatedAt = r.At };
                break;
            case KeySessionClosed c:
                _sessions.Remove(c.Sid);
                break;
        }
        // Sessions past their expiry are forgotten at the next change.
        foreach (var gone in _sessions.Values.Where(s => s.ExpiresAt <= e.At()).Select(s => s.Sid).ToList()) _sessions.Remove(gone);
    }

    private void Publish() => _index.Publish(_keys, _sessions);

    private static string NewId() => Session.JwtClaims.EncodeSegment(RandomNumberGenerator.GetBytes(16));
}

/// <summary>When a key event happened.</summary>
internal static class KeyEventTime
{
    /// <summary>The event's time.</summary>
    public static DateTimeOffset At(this IJournaled e) => e switch
    {
        KeyIssued k => k.At,
        KeyRevoked r => r.At,
        KeyUsed u => u.At,
        KeySessionOpened o => o.At,
        KeySessionRotated r => r.At,
        KeySessionClosed c => c.At,
        _ => DateTimeOffset.MinValue,
    };
}
