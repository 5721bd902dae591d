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

    /// <summary>
    /// The answer says the account is taken down: hand it over and refresh, whose own answer decides (a PDS passes on the
    /// answers of the services it forwards to, so a call's AccountTakedown may be a service's; its refreshSession's is
    /// the PDS's own, and ends the session).
    /// </summary>
    DeliverAndConfirmByRefresh,
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
