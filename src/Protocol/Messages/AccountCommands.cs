using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Protocol;

/// <summary>A message for one account, addressed by its DID or its handle.</summary>
public interface IAccountMessage : Serialization.IWireMessage
{
    /// <summary>The account's DID or handle.</summary>
    string AccountId { get; }
}

/// <summary>The export formats of a session.</summary>
public enum SessionFormat
{
    /// <summary>The Python SDK's session string.</summary>
    Python,

    /// <summary>lex-password-session SessionData JSON.</summary>
    Json,
}

/// <summary>
/// What other actors (and the HTTP API) send to the accounts supervisor. Each record's ToString leaves
/// out passwords and tokens.
/// </summary>
public static class AccountCommands
{
    /// <summary>Log in with createSession. Answered with <see cref="AccountReplies.SessionStarted"/> or <see cref="AccountReplies.SessionRejected"/>.</summary>
    public sealed record Login(string Service, string Identifier, string Password, string? AuthFactorToken = null) : Serialization.IWireMessage
    {
        /// <inheritdoc />
        public override string ToString() => $"Login {{ Service = {Service}, Identifier = {Identifier}, AuthFactorToken = {(AuthFactorToken is null ? "none" : "given")} }}";
    }

    /// <summary>Create an account with createAccount and supervise its session.</summary>
    public sealed record CreateAccount(string Service, string Handle, string Email, string Password, string? InviteCode = null) : Serialization.IWireMessage
    {
        /// <inheritdoc />
        public override string ToString() => $"CreateAccount {{ Service = {Service}, Handle = {Handle} }}";
    }

    /// <summary>
    /// Import a session (Python SDK session string or SessionData JSON). With <see cref="Validate"/> the
    /// session is refreshed at once, as lex-password-session's resume does, so a dead session is reported now.
    /// </summary>
    public sealed record ImportSession(string Session, string? Service = null, bool Validate = true) : Serialization.IWireMessage
    {
        /// <inheritdoc />
        public override string ToString() => $"ImportSession {{ Service = {Service}, Validate = {Validate} }}";
    }

    /// <summary>
    /// An authenticated XRPC call made with the account's current access token; answered with the PDS's
    /// <see cref="XrpcResponse"/> or <see cref="AccountReplies.AccountUnavailable"/>. <paramref name="TraceParent"/>: the
    /// W3C <c>traceparent</c> of the request it serves, so the account's span and its PDS call join that trace.
    /// </summary>
    public sealed record CallXrpc(string AccountId, XrpcRequest Request, string? TraceParent = null) : IAccountMessage;

    /// <summary>
    /// Borrow the account's current access token for one request that the caller sends itself (the HTTP
    /// pass-through streams bodies between the client and the PDS; they never enter a message). Answered with
    /// <see cref="AccountReplies.AccessTokenLent"/> or <see cref="AccountReplies.AccountUnavailable"/>. The account
    /// holds its next rotation until the loan is returned (<see cref="ReturnAccessToken"/>) or expires, so no
    /// request leaves with a token the account has already replaced. <paramref name="Streamed"/>: the body
    /// cannot be sent twice, so the token must have a good part of its lifetime left (the account refreshes first
    /// otherwise). <paramref name="TraceParent"/>: the W3C <c>traceparent</c> of the request it serves, so the account's
    /// span joins that trace.
    /// </summary>
    public sealed record BorrowAccessToken(string AccountId, string Nsid, bool Streamed = false, string? TraceParent = null) : IAccountMessage;

    /// <summary>
    /// A loan is over: how the PDS answered (<paramref name="Status"/> 0 when nothing was sent or no answer came;
    /// <paramref name="Error"/> and <paramref name="Message"/> from a JSON error body). An ExpiredToken answer
    /// makes the account refresh; AccountTakedown ends the session.
    /// </summary>
    public sealed record ReturnAccessToken(string AccountId, long LoanId, int Status, string? Error = null, string? Message = null) : IAccountMessage;

    /// <summary>Ask for one account's status.</summary>
    public sealed record GetAccountStatus(string AccountId) : IAccountMessage;

    /// <summary>Ask how many accounts there are, and how many run as actors now; answered with <see cref="AccountReplies.SupervisorCounts"/>.</summary>
    public sealed record GetSupervisorCounts : Serialization.IWireMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly GetSupervisorCounts Instance = new();
    }

    /// <summary>
    /// Ask for one page of account statuses, ordered by DID (ordinal): those in <paramref name="State"/> (any when null) whose
    /// handle or DID contains <paramref name="Query"/> (case-insensitive; any when null), at most <paramref name="Limit"/>
    /// (1 to <see cref="MaxLimit"/>), after the page that answered <paramref name="Cursor"/> (the first
    /// page when null). Answered with <see cref="AccountReplies.AccountList"/>, or <see cref="AccountReplies.InvalidQuery"/>
    /// for a limit out of range or a cursor this supervisor did not make. The rules are the supervisor's AccountPage.
    /// </summary>
    public sealed record ListAccounts(
        AccountStateName? State = null, string? Query = null, int Limit = ListAccounts.DefaultLimit, string? Cursor = null) : Serialization.IWireMessage
    {
        /// <summary>The page size when none is asked for.</summary>
        public const int DefaultLimit = 100;

        /// <summary>The largest page size.</summary>
        public const int MaxLimit = 1_000;

        /// <summary>The first page with the defaults: every state, no query, <see cref="DefaultLimit"/> accounts.</summary>
        public static readonly ListAccounts Instance = new();
    }

    /// <summary>
    /// Ask how many accounts there are by state, how many run as actors and how many are passivated, without listing
    /// them; answered with <see cref="AccountReplies.AccountCounts"/>.
    /// </summary>
    public sealed record GetAccountCounts : Serialization.IWireMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly GetAccountCounts Instance = new();
    }

    /// <summary>
    /// Export the session with its tokens, in a format other clients read. <paramref name="By"/> names the
    /// credential that asked, for the audit trail.
    /// </summary>
    public sealed record ExportSession(string AccountId, SessionFormat Format, string By = "message") : IAccountMessage;

    /// <summary>Refresh now, whatever the schedule says (for operators).</summary>
    public sealed record RefreshNow(string AccountId) : IAccountMessage;

    /// <summary>Log out: deleteSession with the refresh token, retried until it succeeds.</summary>
    public sealed record Logout(string AccountId, string By = "message") : IAccountMessage;

    /// <summary>
    /// Subscribe <paramref name="Subscriber"/> to session events of one account (<paramref name="Did"/>) or of
    /// all (null). Tokens are included only when <paramref name="IncludeTokens"/> is set. Answered with this message
    /// itself; the events go to <paramref name="Subscriber"/> directly, also in another actor system (its path crosses
    /// the wire with its address).
    /// </summary>
    public sealed record SubscribeSessionEvents(Akka.Actor.IActorRef Subscriber, string? Did = null, bool IncludeTokens = false) : Serialization.IWireMessage;

    /// <summary>Ends every subscription of <paramref name="Subscriber"/>.</summary>
    public sealed record UnsubscribeSessionEvents(Akka.Actor.IActorRef Subscriber) : Serialization.IWireMessage;
}
