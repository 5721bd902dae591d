using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Keys;

/// <summary>The journaled events of the account keys (persistence id <c>account-keys</c>). No key text in any of them.</summary>
public static class KeyEvents
{
    /// <summary>A key was issued; only the hash of its secret is kept.</summary>
    public sealed record KeyIssued(string Id, string Did, string? Name, string Hash, DateTimeOffset? ExpiresAt, IReadOnlyList<string> Allow, string By, DateTimeOffset At) : IJournaled;

    /// <summary>A key was revoked; it is refused from the next request on.</summary>
    public sealed record KeyRevoked(string Id, string By, DateTimeOffset At) : IJournaled;

    /// <summary>A key was used (recorded at most once a minute per key).</summary>
    public sealed record KeyUsed(string Id, DateTimeOffset At) : IJournaled;

    /// <summary>A session of a key was opened (createSession at the supervisor).</summary>
    public sealed record KeySessionOpened(string Sid, string KeyId, string Jti, DateTimeOffset ExpiresAt, DateTimeOffset At) : IJournaled;

    /// <summary>A session of a key was refreshed: its refresh token id changed.</summary>
    public sealed record KeySessionRotated(string Sid, string Jti, DateTimeOffset At) : IJournaled;

    /// <summary>A session of a key was ended (deleteSession).</summary>
    public sealed record KeySessionClosed(string Sid, DateTimeOffset At) : IJournaled;

    /// <summary>A snapshot of every key and open session.</summary>
    public sealed record KeysSnapshot(IReadOnlyList<AccountKeyInfo> Keys, IReadOnlyList<KeySession> Sessions) : IJournaled;
}
