using Supervisor.Actors.Pds;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Account;

/// <summary>Why a session ended without a logout.</summary>
public enum SessionEndReason
{
    /// <summary>The PDS revoked or rejected the refresh token: a new login is needed.</summary>
    NeedsLogin,

    /// <summary>The account was taken down.</summary>
    TakenDown,
}

/// <summary>
/// An event of one account's journal. Tokens appear only in the events that carry a new pair. Written alone (the journal)
/// it has no type tag; inside a list of events (held events handed to a next run, maybe on another node) it is tagged.
/// </summary>
[System.Text.Json.Serialization.JsonPolymorphic(TypeDiscriminatorPropertyName = "$event")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.SessionEstablished), "SessionEstablished")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.RefreshStarted), "RefreshStarted")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.SessionRefreshed), "SessionRefreshed")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.SessionEnded), "SessionEnded")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.LogoutRequested), "LogoutRequested")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.HandleVerified), "HandleVerified")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.SessionDeleted), "SessionDeleted")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(AccountEvents.OwnerClaimed), "OwnerClaimed")]
public interface IAccountEvent : IJournaled
{
    /// <summary>When it happened.</summary>
    DateTimeOffset At { get; }
}

/// <summary>The events an account actor journals.</summary>
public static class AccountEvents
{
    /// <summary>A new session (login, account creation or import) replaced whatever the account had.</summary>
    public sealed record SessionEstablished(SessionOrigin Origin, string Service, SessionGrant Grant, DateTimeOffset At) : IAccountEvent;

    /// <summary>
    /// A refresh is about to be sent with the current refresh token (journaled before the call, so an actor
    /// that dies mid-rotation replays the same token within the PDS's grace window after a restart). Records written
    /// before also hold the refresh token's id (<c>refreshTokenId</c>), which nothing reads: it is skipped.
    /// </summary>
    public sealed record RefreshStarted(DateTimeOffset At) : IAccountEvent;

    /// <summary>The PDS rotated the pair.</summary>
    public sealed record SessionRefreshed(SessionGrant Grant, DateTimeOffset At) : IAccountEvent;

    /// <summary>The PDS ended the session (revoked, invalid or taken down); the tokens are dropped.</summary>
    public sealed record SessionEnded(SessionEndReason Reason, XrpcError Error, DateTimeOffset At) : IAccountEvent;

    /// <summary>
    /// A logout was asked for: the session is dropped, and its refresh token is kept only until
    /// deleteSession has succeeded.
    /// </summary>
    public sealed record LogoutRequested(DateTimeOffset At) : IAccountEvent;

    /// <summary>A new handle reported by the PDS was verified both ways (DID document and handle resolution) and taken.</summary>
    public sealed record HandleVerified(string Handle, DateTimeOffset At) : IAccountEvent;

    /// <summary>deleteSession succeeded (or the server no longer knows the token): no token is left.</summary>
    public sealed record SessionDeleted(DateTimeOffset At) : IAccountEvent;

    /// <summary>
    /// A node took the account over (<paramref name="Node"/>: its address and incarnation). Written first by every new
    /// owner: the journal's sequence numbers then fence the previous owner, whose next write (before any refresh)
    /// fails, so that no refresh token is ever sent by two nodes.
    /// </summary>
    public sealed record OwnerClaimed(string Node, DateTimeOffset At) : IAccountEvent;
}
