using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Keys;

/// <summary>
/// What the host asks of <see cref="AccountKeys"/> (one in the cluster, reached through its singleton proxy from any
/// node), and its answers. An answer after a change carries the change's <c>SequenceNr</c>: the node that asked waits
/// until its own <see cref="AccountKeyIndex"/> has it before it answers its client, so that what it answers is what it
/// reads next. No key text in any of them: a key is made on the node that issues it, and only its hash travels.
/// </summary>
public static class KeyCommands
{
    /// <summary>Issue the key <paramref name="Id"/> (its secret's hash <paramref name="Hash"/>) for the account <paramref name="Did"/>; answered with <see cref="KeyIssuedReply"/>.</summary>
    public sealed record IssueKey(string Id, string Hash, string Did, string? Name, DateTimeOffset? ExpiresAt, IReadOnlyList<string> Allow, string By) : IWireMessage;

    /// <summary>The key is issued.</summary>
    public sealed record KeyIssuedReply(AccountKeyInfo Info, long SequenceNr) : IWireMessage;

    /// <summary>Revoke a key; answered with <see cref="KeyRevokedReply"/> or <see cref="KeyNotFound"/>.</summary>
    public sealed record RevokeKey(string Id, string By) : IWireMessage;

    /// <summary>The key is revoked.</summary>
    public sealed record KeyRevokedReply(AccountKeyInfo Info, long SequenceNr) : IWireMessage;

    /// <summary>No key with that id.</summary>
    public sealed record KeyNotFound(string Id) : IWireMessage;

    /// <summary>The key was used: its last use is journaled, at most once a minute (told, not asked).</summary>
    public sealed record RecordKeyUse(string Id) : IWireMessage;

    /// <summary>
    /// Open a session of a key (createSession at the supervisor); answered with <see cref="KeySessionReply"/>, or
    /// <see cref="KeySessionsSpent"/> when the key has opened its most sessions of a window.
    /// </summary>
    public sealed record OpenKeySession(string KeyId, DateTimeOffset ExpiresAt) : IWireMessage;

    /// <summary>
    /// Rotate a key session presented with the refresh token id <paramref name="Jti"/>: the current one rotates; the
    /// one before it, within the grace window, answers the same successor (as the PDS does). Answered with
    /// <see cref="KeySessionReply"/>, <see cref="KeySessionRefused"/> or <see cref="KeySessionsSpent"/>.
    /// </summary>
    public sealed record RotateKeySession(string Sid, string Jti) : IWireMessage;

    /// <summary>End a key session (deleteSession); answered with <see cref="KeySessionReply"/> or <see cref="KeySessionRefused"/>.</summary>
    public sealed record CloseKeySession(string Sid, string Jti) : IWireMessage;

    /// <summary>The session as it is now (its refresh token id to put in the next token).</summary>
    public sealed record KeySessionReply(KeySession Session, long SequenceNr) : IWireMessage;

    /// <summary>
    /// The key has opened (or rotated) <paramref name="Spent"/>'s most sessions within its window: the next opens (or
    /// rotates) at <paramref name="RetryAt"/>. The session is as it was: its refresh token still rotates then.
    /// </summary>
    public sealed record KeySessionsSpent(DateTimeOffset RetryAt, Limits.BudgetWindow Spent) : IWireMessage;

    /// <summary>The refresh token is not (or no longer) valid for the session.</summary>
    public sealed record KeySessionRefused(string Reason) : IWireMessage;
}
