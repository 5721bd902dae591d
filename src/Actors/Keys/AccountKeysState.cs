using System.Collections.Immutable;
using static Supervisor.Actors.Keys.KeyEvents;

namespace Supervisor.Actors.Keys;

/// <summary>
/// Every account key (revoked ones included) and every open key session, as the key events make them: the one rule
/// both <see cref="AccountKeys"/> (which journals the events) and each node's <see cref="AccountKeysReplica"/> (which
/// reads them) apply. Sessions past their expiry are forgotten at the next event.
/// </summary>
public sealed record AccountKeysState(ImmutableDictionary<string, AccountKeyInfo> Keys, ImmutableDictionary<string, KeySession> Sessions)
{
    /// <summary>
    /// The most open sessions of one key. A client that logs in at each start and never logs out (a cron job) would
    /// otherwise pile up a session a run, each kept 90 days, on the owner and every node's replica; past it, the
    /// session opened the new one replaces is the one least in use (never refreshed before refreshed, then the earliest
    /// to expire), whose client logs in again should it come back.
    /// </summary>
    public const int MostSessionsPerKey = 100;

    /// <summary>No key, no session.</summary>
    public static readonly AccountKeysState Empty = new(
        ImmutableDictionary.Create<string, AccountKeyInfo>(StringComparer.Ordinal), ImmutableDictionary.Create<string, KeySession>(StringComparer.Ordinal));

    /// <summary>The state a snapshot holds.</summary>
    public static AccountKeysState Of(KeysSnapshot snapshot) => new(
        Empty.Keys.AddRange(snapshot.Keys.Select(k => KeyValuePair.Create(k.Id, k))),
        Empty.Sessions.AddRange(snapshot.Sessions.Select(s => KeyValuePair.Create(s.Sid, s))));

    /// <summary>This state as a snapshot.</summary>
    public KeysSnapshot ToSnapshot() => new(Keys.Values.ToList(), Sessions.Values.ToList());

    /// <summary>The state after <paramref name="e"/>.</summary>
    public AccountKeysState Apply(IKeyEvent e)
    {
        var (keys, sessions) = (Keys, Sessions);
        switch (e)
        {
            case KeyIssued k:
                keys = keys.SetItem(k.Id, new AccountKeyInfo(k.Id, k.Did, k.Name, k.Hash, k.ExpiresAt, k.Allow, k.By, k.At));
                break;
            case KeyRevoked r when keys.TryGetValue(r.Id, out var key):
                keys = keys.SetItem(r.Id, key with { RevokedAt = r.At });
                sessions = sessions.RemoveRange(sessions.Values.Where(s => s.KeyId == r.Id).Select(s => s.Sid));
                break;
            case KeyUsed u when keys.TryGetValue(u.Id, out var used):
                keys = keys.SetItem(u.Id, used with { LastUsedAt = u.At });
                break;
            case KeySessionOpened o:
                sessions = sessions.SetItem(o.Sid, new KeySession(o.Sid, o.KeyId, o.Jti, null, null, o.ExpiresAt));
                var ofKey = sessions.Values.Where(s => s.KeyId == o.KeyId).ToList();
                if (ofKey.Count > MostSessionsPerKey)
                    sessions = sessions.RemoveRange(ofKey.Where(s => s.Sid != o.Sid)
                        .OrderBy(s => s.RotatedAt ?? DateTimeOffset.MinValue).ThenBy(s => s.ExpiresAt).ThenBy(s => s.Sid, StringComparer.Ordinal)
                        .Take(ofKey.Count - MostSessionsPerKey).Select(s => s.Sid));
                break;
            case KeySessionRotated r when sessions.TryGetValue(r.Sid, out var session):
                sessions = sessions.SetItem(r.Sid, session with { PreviousJti = session.Jti, Jti = r.Jti, RotatedAt = r.At });
                break;
            case KeySessionClosed c:
                sessions = sessions.Remove(c.Sid);
                break;
        }
        var expired = sessions.Values.Where(s => s.ExpiresAt <= e.At).Select(s => s.Sid).ToList();
        return new AccountKeysState(keys, expired.Count == 0 ? sessions : sessions.RemoveRange(expired));
    }
}
