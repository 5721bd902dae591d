using System.Text.Json.Serialization;
using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Keys;

/// <summary>
/// An event of the account keys: journaled once by <see cref="AccountKeys"/>, read by every node's
/// <see cref="AccountKeysReplica"/>. Written with its type's name where its declared type is this interface (on its way
/// to the replicas); in the journal each is written as itself, under its own manifest.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event")]
[JsonDerivedType(typeof(KeyEvents.KeyIssued), nameof(KeyEvents.KeyIssued))]
[JsonDerivedType(typeof(KeyEvents.KeyRevoked), nameof(KeyEvents.KeyRevoked))]
[JsonDerivedType(typeof(KeyEvents.KeyUsed), nameof(KeyEvents.KeyUsed))]
[JsonDerivedType(typeof(KeyEvents.KeySessionOpened), nameof(KeyEvents.KeySessionOpened))]
[JsonDerivedType(typeof(KeyEvents.KeySessionRotated), nameof(KeyEvents.KeySessionRotated))]
[JsonDerivedType(typeof(KeyEvents.KeySessionClosed), nameof(KeyEvents.KeySessionClosed))]
public interface IKeyEvent : IJournaled
{
    /// <summary>When it happened.</summary>
    DateTimeOffset At { get; }
}

/// <summary>The journaled events of the account keys (persistence id <c>account-keys</c>). No key text in any of them.</summary>
public static class KeyEvents
{
    /// <summary>A key was issued; only the hash of its secret is kept.</summary>
    public sealed record KeyIssued(string Id, string Did, string? Name, string Hash, DateTimeOffset? ExpiresAt, IReadOnlyList<string> Allow, string By, DateTimeOffset At) : IKeyEvent;

    /// <summary>A key was revoked; it is refused from the next request on.</summary>
    public sealed record KeyRevoked(string Id, string By, DateTimeOffset At) : IKeyEvent;

    /// <summary>A key was used (recorded at most once a minute per key).</summary>
    public sealed record KeyUsed(string Id, DateTimeOffset At) : IKeyEvent;

    /// <summary>A session of a key was opened (createSession at the supervisor).</summary>
    public sealed record KeySessionOpened(string Sid, string KeyId, string Jti, DateTimeOffset ExpiresAt, DateTimeOffset At) : IKeyEvent;

    /// <summary>A session of a key was refreshed: its refresh token id changed.</summary>
    public sealed record KeySessionRotated(string Sid, string Jti, DateTimeOffset At) : IKeyEvent;

    /// <summary>A session of a key was ended (deleteSession).</summary>
    public sealed record KeySessionClosed(string Sid, DateTimeOffset At) : IKeyEvent;

    /// <summary>
    /// A snapshot of every key and open session, and of the keys' recent session openings and rotations (their budget;
    /// null in a snapshot written before it was kept).
    /// </summary>
    public sealed record KeysSnapshot(IReadOnlyList<AccountKeyInfo> Keys, IReadOnlyList<KeySession> Sessions, IReadOnlyList<KeySessionCalls>? Calls = null) : IJournaled;
}
