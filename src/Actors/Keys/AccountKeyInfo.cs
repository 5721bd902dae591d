namespace Supervisor.Actors.Keys;

/// <summary>
/// What is known of one account key: its id, the account (DID) it reaches, its name, when it expires, the
/// privileged methods it was issued with, who issued it, when it was last used, whether it is revoked. Never the
/// key; <see cref="Hash"/> is the SHA-256 of its secret.
/// </summary>
public sealed record AccountKeyInfo(
    string Id,
    string Did,
    string? Name,
    string Hash,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<string> Allow,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset? LastUsedAt = null,
    DateTimeOffset? RevokedAt = null)
{
    /// <summary>True while the key may be used.</summary>
    public bool IsUsable(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is not { } expires || expires > now);
}

/// <summary>
/// A session opened with an account key through <c>com.atproto.server.createSession</c> at the supervisor: its id,
/// the key, the current refresh token id, the one before it (usable for a grace window, as at the PDS), and when
/// the session's refresh token expires.
/// </summary>
public sealed record KeySession(string Sid, string KeyId, string Jti, string? PreviousJti, DateTimeOffset? RotatedAt, DateTimeOffset ExpiresAt);
