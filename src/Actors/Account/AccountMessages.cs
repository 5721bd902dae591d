using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Account;

/// <summary>
/// The supervisor hands a new session to the account's actor (after a login, an account creation or an import), its
/// PDS and handle verified; <paramref name="UnverifiedHandle"/> is the handle the server claimed when it could not be verified.
/// </summary>
public sealed record AdoptSession(SessionGrant Grant, string Service, SessionOrigin Origin, bool Validate, string? UnverifiedHandle = null) : Serialization.IWireMessage;

/// <summary>
/// The account's verification of a handle is done: one its PDS reported after a refresh, or its <paramref name="Own"/>
/// checked again. <paramref name="Transient"/> when it could not be made (a timeout, a server down); <paramref name="Elsewhere"/>
/// when the handle resolves to another DID or the DID's document no longer lists it (what lets an own handle go).
/// </summary>
public sealed record HandleChecked(string Handle, bool Verified, string Reason, bool Transient = false, bool Own = false, bool Elsewhere = false);

/// <summary>
/// Sent by an accounts supervisor to each account whose handle another account has verified too: the account checks its
/// own again, and lets it go when it no longer resolves to it.
/// </summary>
public sealed record CheckHandle : Serialization.IWireMessage
{
    /// <summary>The one instance.</summary>
    public static readonly CheckHandle Instance = new();
}

/// <summary>An account tells its parent its status after every change (for listings and the handle index).</summary>
public sealed record AccountStatusChanged(AccountStatus Status);

/// <summary>Asks an account to finish its refresh in flight (journaled) and start no new one: sent at shutdown.</summary>
public sealed record DrainAccount
{
    /// <summary>The one instance.</summary>
    public static readonly DrainAccount Instance = new();
}

/// <summary>The account has no refresh in flight and will start none.</summary>
public sealed record AccountDrained(string Did);

/// <summary>
/// A login of this account at <paramref name="Service"/> was answered with AuthFactorTokenRequired: it waits for the code,
/// when that is its own service or PDS (a login elsewhere naming its handle says nothing of it). Null from nodes of an
/// earlier version, which did not say.
/// </summary>
public sealed record AuthFactorRequested(string? Service = null) : Serialization.IWireMessage;

/// <summary>
/// The message the shard sends an account to stop it (after the account asked to passivate, or when its shard is handed
/// over to another node): the account finishes what is in flight (a refresh, lent tokens), then stops.
/// </summary>
public sealed record StopAccount
{
    /// <summary>The one instance.</summary>
    public static readonly StopAccount Instance = new();
}

/// <summary>
/// Sent by the registry to a resting account whose refresh or keep-alive is due (it starts the account): the account
/// refreshes if its rules say it is due, and schedules its refresh otherwise.
/// </summary>
public sealed record WakeToRefresh : Serialization.IWireMessage
{
    /// <summary>The one instance.</summary>
    public static readonly WakeToRefresh Instance = new();
}

/// <summary>
/// What an account that a failed journal write stops leaves for its next run on the node (in
/// <see cref="HeldEventsHandovers"/>): the events it applied in memory but could not journal (held during an outage;
/// often none), and the new pair of a refresh whose write failed (<see cref="Failed"/>, not yet applied: the PDS has
/// rotated the pair, and honours the one before only for its grace window). One without events is sent to its node's
/// accounts supervisor, which routes nothing more to it until it runs again.
/// </summary>
public sealed record HeldEventsHandover(string Did, IReadOnlyList<IAccountEvent> Events, AccountEvents.SessionRefreshed? Failed = null)
    : Serialization.IWireMessage;

/// <summary>A snapshot of one account's journaled state.</summary>
public sealed record AccountSnapshot(AccountState State) : IJournaled;

/// <summary>Messages the account actor sends itself.</summary>
internal static class AccountSelfMessages
{
    public sealed record RequestAnswered(CallXrpc Call, IActorRef ReplyTo, long LoanId, long Generation, bool Retried, XrpcResponse Answer, DateTimeOffset SentAt, Activity? Span = null);

    public sealed record LoansDue
    {
        public static readonly LoansDue Instance = new();
    }

    public sealed record RetryCall(CallXrpc Call, IActorRef ReplyTo);

    public sealed record RefreshAnswered(XrpcResponse Answer);

    /// <summary>
    /// The journal's highest sequence number past the account's RefreshStarted, 0 when none; null when the journal could
    /// not be read.
    /// </summary>
    public sealed record OwnershipChecked(long? Highest);

    /// <summary>As <see cref="OwnershipChecked"/>, past the account's last write, before a deleteSession of account <paramref name="Did"/> leaves.</summary>
    public sealed record DeleteOwnershipChecked(long? Highest, string Did, IActorRef? ReplyTo);

    /// <summary>The answer to account <paramref name="Did"/>'s deleteSession, for the logout of <paramref name="ReplyTo"/> (if any).</summary>
    public sealed record DeleteAnswered(XrpcResponse Answer, string Did, IActorRef? ReplyTo);

    /// <summary>
    /// The account's refresh is due: sent by the node's <see cref="RefreshClock"/> for the time the account set
    /// (<paramref name="At"/>), or by the account to itself (<see cref="Replay"/>) to replay a refresh cut off by a stop. A
    /// wake can meet an account that has stopped since (unlogged to the dead letters).
    /// </summary>
    public sealed record RefreshDue(DateTimeOffset? At) : IDeadLetterSuppression
    {
        /// <summary>A refresh cut off by a stop, replayed after recovery.</summary>
        public static readonly RefreshDue Replay = new((DateTimeOffset?)null);
    }

    public sealed record DeleteDue
    {
        public static readonly DeleteDue Instance = new();
    }

    public sealed record ClaimOwnership
    {
        public static readonly ClaimOwnership Instance = new();
    }

    public sealed record QuorumCheck
    {
        public static readonly QuorumCheck Instance = new();
    }

    /// <summary>Sent by the node's passivation sweep; one that meets an account as it stops goes unlogged to the dead letters.</summary>
    public sealed record PassivationCheck : IDeadLetterSuppression
    {
        public static readonly PassivationCheck Instance = new();
    }
}
