using Supervisor.Actors.Pds;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Account;

/// <summary>What a refreshSession answer means for the account.</summary>
public abstract record RefreshOutcome
{
    private RefreshOutcome() { }

    /// <summary>A new pair.</summary>
    public sealed record Refreshed(SessionGrant Grant) : RefreshOutcome;

    /// <summary>The session is over (revoked, invalid, taken down): no retry will help.</summary>
    public sealed record Ended(SessionEndReason Reason, XrpcError Error) : RefreshOutcome;

    /// <summary>A failure that may pass (network, timeout, 5xx, a garbled or rate-limited answer): keep the session and retry.</summary>
    public sealed record Transient(XrpcError Error, DateTimeOffset? RetryNotBefore) : RefreshOutcome;
}

/// <summary>What the answer to an authenticated call means for the account.</summary>
public enum RequestOutcome
{
    /// <summary>Hand the answer to the caller.</summary>
    Deliver,

    /// <summary>The access token was refused as expired or unverifiable: refresh, then send the call once more.</summary>
    RefreshAndRetry,

    /// <summary>The account is taken down: hand the answer over and end the session.</summary>
    DeliverAndEndTakenDown,
}

/// <summary>Why a login, account creation or import was refused.</summary>
public enum SessionRejection
{
    /// <summary>Wrong identifier or password (401 AuthenticationRequired).</summary>
    InvalidCredentials,

    /// <summary>A two-factor code is needed: retry with the code from the email (AuthFactorTokenRequired).</summary>
    AuthFactorTokenRequired,

    /// <summary>The account is taken down (AccountTakedown).</summary>
    AccountTakedown,

    /// <summary>Too many attempts (429 RateLimitExceeded, or the local login budget).</summary>
    RateLimited,

    /// <summary>The server refused the request as malformed (400), e.g. a handle already taken.</summary>
    InvalidRequest,

    /// <summary>The session given for import is malformed.</summary>
    InvalidSession,

    /// <summary>The imported session is no longer valid on the server.</summary>
    SessionRevoked,

    /// <summary>The service could not be reached or answered garbage; nothing was changed.</summary>
    ServiceUnavailable,

    /// <summary>The session's identity could not be verified against the DID's own document and PDS.</summary>
    IdentityUnverified,

    /// <summary>The account is already supervised at another PDS.</summary>
    AccountConflict,
}

/// <summary>What a createSession or createAccount answer means.</summary>
public abstract record LoginOutcome
{
    private LoginOutcome() { }

    /// <summary>A session was created.</summary>
    public sealed record Succeeded(SessionGrant Grant) : LoginOutcome;

    /// <summary>No session; the reason and the server's (or client's) error.</summary>
    public sealed record Rejected(SessionRejection Reason, XrpcError Error, DateTimeOffset? RetryNotBefore) : LoginOutcome;
}
