namespace Supervisor.Actors.Keys;

/// <summary>What the host (or another actor) asks of <see cref="AccountKeys"/>, and its answers.</summary>
public static class KeyCommands
{
    /// <summary>Issue a key for the account <paramref name="Did"/>; answered with <see cref="KeyIssuedReply"/>.</summary>
    public sealed record IssueKey(string Did, string? Name, DateTimeOffset? ExpiresAt, IReadOnlyList<string> Allow, string By);

    /// <summary>The new key: shown this once. ToString does not show it.</summary>
    public sealed record KeyIssuedReply(AccountKeyInfo Info, string Key)
    {
        /// <inheritdoc />
        public override string ToString() => $"KeyIssuedReply {{ Id = {Info.Id}, Did = {Info.Did} }}";
    }

    /// <summary>Revoke a key; answered with <see cref="KeyRevokedReply"/> or <see cref="KeyNotFound"/>.</summary>
    public sealed record RevokeKey(string Id, string By);

    /// <summary>The key is revoked.</summary>
    public sealed record KeyRevokedReply(AccountKeyInfo Info);

    /// <summary>No key with that id.</summary>
    public sealed record KeyNotFound(string Id);

    /// <summary>The key was used: its last use is journaled, at most once a minute (told, not asked).</summary>
    public sealed record RecordKeyUse(string Id);

    /// <summary>Open a session of a key (createSession at the supervisor); answered with <see cref="KeySessionReply"/>.</summary>
    public sealed record OpenKeySession(string KeyId, DateTimeOffset ExpiresAt);

    /// <summary>
    /// Rotate a key session presented with the refresh token id <paramref name="Jti"/>: the current one rotates; the
    /// one before it, within the grace window, answers the same successor (as the PDS does). Answered with
    /// <see cref="KeySessionReply"/> or <see cref="KeySessionRefused"/>.
    /// </summary>
    public sealed record RotateKeySession(string Sid, string Jti);

    /// <summary>End a key session (deleteSession); answered with <see cref="KeySessionReply"/> or <see cref="KeySessionRefused"/>.</summary>
    public sealed record CloseKeySession(string Sid, string Jti);

    /// <summary>The session as it is now (its refresh token id to put in the next token).</summary>
    public sealed record KeySessionReply(KeySession Session);

    /// <summary>The refresh token is not (or no longer) valid for the session.</summary>
    public sealed record KeySessionRefused(string Reason);
}
