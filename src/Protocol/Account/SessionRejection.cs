namespace Supervisor.Actors.Account;

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
