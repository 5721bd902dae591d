using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Events;

/// <summary>The session events of the seeds: SessionEvent CREATE/REFRESH/IMPORT and the onUpdated/onUpdateFailure/onDeleted/onDeleteFailure hooks.</summary>
public enum SessionEventKind
{
    /// <summary>A session was created by a login or an account creation (onUpdated, SessionEvent.CREATE).</summary>
    Create,

    /// <summary>The pair was rotated (onUpdated, SessionEvent.REFRESH).</summary>
    Refresh,

    /// <summary>A session was imported (SessionEvent.IMPORT).</summary>
    Import,

    /// <summary>A refresh failed transiently; the session is kept (onUpdateFailure).</summary>
    UpdateFailure,

    /// <summary>The session is over: logged out, revoked or taken down; <see cref="SessionEvent.State"/> says which (onDeleted).</summary>
    Deleted,

    /// <summary>A logout's deleteSession failed transiently and will be retried (onDeleteFailure).</summary>
    DeleteFailure,
}

/// <summary>
/// A change of one account's session, published to every subscriber whose filter matches.
/// <see cref="Session"/> (with tokens) is set only for subscribers that asked for tokens, and only on
/// Create, Refresh and Import; ToString never shows it.
/// </summary>
public sealed record SessionEvent(
    SessionEventKind Kind,
    string Did,
    string? Handle,
    string? Service,
    AccountStateName State,
    XrpcError? Error,
    DateTimeOffset At,
    SessionGrant? Session = null) : IJournaled
{
    /// <summary>This event without its tokens.</summary>
    public SessionEvent WithoutTokens() => Session is null ? this : this with { Session = null };

    /// <inheritdoc />
    public override string ToString() =>
        $"SessionEvent {{ Kind = {Kind}, Did = {Did}, Handle = {Handle}, State = {State}, Error = {Error?.Error}, HasTokens = {Session is not null} }}";
}
