using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Protocol;

/// <summary>The state an account is in, as operators and callers see it.</summary>
public enum AccountStateName
{
    /// <summary>A session that serves requests.</summary>
    Active,

    /// <summary>At start, the account waits for its turn to read its journal (it starts at once when asked for).</summary>
    Recovering,

    /// <summary>A refresh is in flight; requests wait for it.</summary>
    Refreshing,

    /// <summary>The last refresh failed transiently; the session is kept and the refresh retried with backoff.</summary>
    Degraded,

    /// <summary>The session was revoked or never existed: a new login is needed.</summary>
    NeedsLogin,

    /// <summary>A login is waiting for its two-factor code.</summary>
    AwaitingAuthFactor,

    /// <summary>The account is taken down.</summary>
    TakenDown,

    /// <summary>The session works, but the account is deactivated (writes are refused).</summary>
    Deactivated,

    /// <summary>A logout is waiting for deleteSession to succeed.</summary>
    LoggingOut,

    /// <summary>Logged out; no tokens are held.</summary>
    LoggedOut,
}

/// <summary>
/// One account's status. Holds no token: it is what the status endpoint and <c>GetAccountStatus</c> show.
/// <see cref="UnjournaledEvents"/> counts the changes held in memory while the journal is unavailable.
/// <see cref="UnverifiedHandle"/> is a handle the PDS reported that could not be verified (the verified one stays).
/// </summary>
public sealed record AccountStatus(
    string Did,
    string? Handle,
    string? Service,
    string? Pds,
    AccountStateName State,
    string? Scope,
    DateTimeOffset? AccessExpiresAt,
    DateTimeOffset? RefreshExpiresAt,
    DateTimeOffset? LastRefreshAt,
    int RefreshCount,
    int LoginCount,
    XrpcError? LastError,
    int PendingRequests,
    int UnjournaledEvents = 0,
    string? UnverifiedHandle = null,
    string? Node = null) : Serialization.IWireMessage;
