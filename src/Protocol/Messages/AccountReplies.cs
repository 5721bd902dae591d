using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Protocol;

/// <summary>Answers to <see cref="AccountCommands"/>.</summary>
public static class AccountReplies
{
    /// <summary>A session was created, imported or resumed; the account is supervised.</summary>
    public sealed record SessionStarted(AccountStatus Status, SessionOrigin Origin) : Serialization.IWireMessage;

    /// <summary>No session: why, the server's (or the client's) error, and when a retry makes sense.</summary>
    public sealed record SessionRejected(SessionRejection Reason, XrpcError Error, DateTimeOffset? RetryNotBefore = null) : Serialization.IWireMessage;

    /// <summary>The account cannot serve the call now; says in which state, why, and when to retry.</summary>
    public sealed record AccountUnavailable(string Did, AccountStateName State, XrpcError Error, DateTimeOffset? RetryNotBefore = null) : Serialization.IWireMessage;

    /// <summary>
    /// The account's access token, lent for one request to <paramref name="Pds"/> until <paramref name="Until"/>;
    /// give it back with <see cref="AccountCommands.ReturnAccessToken"/> to <paramref name="Lender"/>, the account actor
    /// itself (null from older nodes: then to the accounts), since a return sent through the accounts waits while the
    /// account's shard moves to another node. ToString does not show the token.
    /// </summary>
    public sealed record AccessTokenLent(string Did, long LoanId, string Pds, string AccessJwt, DateTimeOffset Until, IActorRef? Lender = null) : Serialization.IWireMessage
    {
        /// <summary>
        /// Gives the token back to <see cref="Lender"/> (through <paramref name="accounts"/> when it is not known) with the
        /// PDS's answer to the call it served: its status (0: nothing was sent) and error.
        /// </summary>
        public void GiveBack(IActorRef accounts, int status = 0, XrpcError? error = null) =>
            (Lender ?? accounts).Tell(new AccountCommands.ReturnAccessToken(Did, LoanId, status, error?.Error, error?.Message));

        /// <inheritdoc />
        public override string ToString() => $"AccessTokenLent {{ Did = {Did}, LoanId = {LoanId}, Pds = {Pds}, Until = {Until:O} }}";
    }

    /// <summary>
    /// The request reached a node the account had just left (its shard moved to another node): send it again, through
    /// the accounts (or the gateway), which find the account where it is now.
    /// </summary>
    public sealed record AccountMoved(string AccountId) : Serialization.IWireMessage;

    /// <summary>No account with that DID or handle.</summary>
    public sealed record AccountNotFound(string AccountId) : Serialization.IWireMessage;

    /// <summary>How many accounts the supervisor has, how many run as actors, and how many are passivated (idle, stopped).</summary>
    public sealed record SupervisorCounts(int Accounts, int Live, int Passivated) : Serialization.IWireMessage;

    /// <summary>
    /// One page of account statuses, ordered by DID; <paramref name="NextCursor"/> asks for the next page
    /// (<see cref="AccountCommands.ListAccounts.Cursor"/>) and is null on the last one.
    /// </summary>
    public sealed record AccountList(IReadOnlyList<AccountStatus> Accounts, string? NextCursor = null) : Serialization.IWireMessage;

    /// <summary>
    /// How many accounts there are (<paramref name="Total"/>), by state (every state, zeros included), how many run as
    /// actors and how many are passivated, and how many events they hold in memory until the journal is back.
    /// </summary>
    public sealed record AccountCounts(int Total, IReadOnlyDictionary<AccountStateName, int> ByState, int Running, int Passivated, int UnjournaledEvents) : Serialization.IWireMessage;

    /// <summary>A query that cannot be answered as asked (a limit out of range, a cursor this supervisor did not make); <see cref="Error"/> says why.</summary>
    public sealed record InvalidQuery(XrpcError Error) : Serialization.IWireMessage;

    /// <summary>An exported session. The one answer that holds tokens; its ToString does not show them.</summary>
    public sealed record SessionExported(string Did, SessionFormat Format, string Session) : Serialization.IWireMessage
    {
        /// <inheritdoc />
        public override string ToString() => $"SessionExported {{ Did = {Did}, Format = {Format} }}";
    }

    /// <summary>The logout is done: deleteSession succeeded and no token is left.</summary>
    public sealed record LoggedOut(string Did) : Serialization.IWireMessage;

    /// <summary>deleteSession failed transiently; it is retried with backoff (also after a restart).</summary>
    public sealed record LogoutPending(string Did, XrpcError Error, DateTimeOffset RetryAt) : Serialization.IWireMessage;

    /// <summary>The refresh asked for with <see cref="AccountCommands.RefreshNow"/> is done (or failed: see the status).</summary>
    public sealed record RefreshCompleted(AccountStatus Status) : Serialization.IWireMessage;

    /// <summary>
    /// The message is not served to actor systems outside the cluster (through ClusterClient): it would reveal tokens
    /// (<c>ExportSession</c>, <c>BorrowAccessToken</c>, session events with tokens) or is not part of the protocol.
    /// <see cref="MessageType"/> names what was refused, <see cref="Error"/> says why.
    /// </summary>
    public sealed record RefusedToClient(string MessageType, XrpcError Error) : Serialization.IWireMessage;
}
