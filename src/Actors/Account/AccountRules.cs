using Supervisor.Actors.Pds;
using Supervisor.Actors.Session;
using static Supervisor.Actors.Account.AccountEvents;

namespace Supervisor.Actors.Account;

/// <summary>
/// The account's rules as pure functions: how an event changes the state, what a PDS answer means, and
/// when the next refresh is due. No Akka, no clock, no randomness of their own.
/// </summary>
public static class AccountRules
{
    /// <summary>Applies one journaled event.</summary>
    public static AccountState Apply(AccountState state, IAccountEvent e) => e switch
    {
        SessionEstablished s => state with
        {
            Handle = s.Grant.Handle,
            Service = s.Service,
            Session = s.Grant,
            RefreshPending = false,
            Ended = null,
            LoggedOut = false,
            LoginCount = state.LoginCount + (s.Origin == SessionOrigin.Import ? 0 : 1),
            SessionStartedAt = s.At,
        },
        RefreshStarted => state.Session is null ? state : state with { RefreshPending = true },
        SessionRefreshed r => state with
        {
            Handle = r.Grant.Handle,
            Session = r.Grant.PdsEndpoint is null && state.Session is not null
                ? r.Grant with { PdsEndpoint = state.Session.PdsEndpoint }
                : r.Grant,
            RefreshPending = false,
            RefreshCount = state.RefreshCount + 1,
            LastRefreshAt = r.At,
        },
        SessionEnded x => state with { Session = null, RefreshPending = false, Ended = new SessionEnd(x.Reason, x.Error, x.At) },
        LogoutRequested => state with
        {
            PendingDeletion = state.Session is { } session ? new SecretToken(session.Tokens.RefreshJwt) : state.PendingDeletion,
            Session = null,
            RefreshPending = false,
        },
        SessionDeleted => state with { PendingDeletion = null, LoggedOut = state.Session is null },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown account event"),
    };

    /// <summary>Reads a refreshSession answer for the account <paramref name="did"/>.</summary>
    public static RefreshOutcome ClassifyRefresh(string did, XrpcResponse answer)
    {
        if (answer.IsSuccess)
        {
            try
            {
                var grant = ReadGrant(answer);
                return grant.Did == did
                    ? new RefreshOutcome.Refreshed(grant)
                    : new RefreshOutcome.Transient(new XrpcError(XrpcError.InvalidResponse, "the refreshed session belongs to another DID"), null);
            }
            catch (SessionFormatException e)
            {
                return new RefreshOutcome.Transient(new XrpcError(XrpcError.InvalidResponse, $"the refresh answer is not a session: {e.Message}"), null);
            }
        }
        var error = answer.Error!;
        return (answer.Status, error.Error) switch
        {
            (_, "AccountTakedown") => new RefreshOutcome.Ended(SessionEndReason.TakenDown, error),
            (400 or 401, "ExpiredToken" or "InvalidToken" or "AuthenticationRequired") => new RefreshOutcome.Ended(SessionEndReason.NeedsLogin, error),
            _ => new RefreshOutcome.Transient(error, RetryNotBefore(answer)),
        };
    }

    /// <summary>Reads the answer to an authenticated call.</summary>
    public static RequestOutcome ClassifyRequest(XrpcResponse answer) => ClassifyRequest(answer.Status, answer.Error?.Error, answer.Error?.Message);

    /// <summary>Reads the status and the error (name and message) of the answer to an authenticated call.</summary>
    public static RequestOutcome ClassifyRequest(int status, string? error, string? message) => (status, error, message) switch
    {
        (400 or 401, "ExpiredToken", _) => RequestOutcome.RefreshAndRetry,
        (400, "InvalidToken", "Token could not be verified") => RequestOutcome.RefreshAndRetry,
        (401, "AccountTakedown", _) => RequestOutcome.DeliverAndEndTakenDown,
        _ => RequestOutcome.Deliver,
    };

    /// <summary>Reads a createSession or createAccount answer.</summary>
    public static LoginOutcome ClassifyLogin(XrpcResponse answer)
    {
        if (answer.IsSuccess)
        {
            try
            {
                return new LoginOutcome.Succeeded(ReadGrant(answer));
            }
            catch (SessionFormatException e)
            {
                return new LoginOutcome.Rejected(SessionRejection.ServiceUnavailable,
                    new XrpcError(XrpcError.InvalidResponse, $"the answer is not a session: {e.Message}"), null);
            }
        }
        var error = answer.Error!;
        var reason = (answer.Status, error.Error) switch
        {
            (_, "AuthFactorTokenRequired") => SessionRejection.AuthFactorTokenRequired,
            (_, "AccountTakedown") => SessionRejection.AccountTakedown,
            (429, _) or (_, "RateLimitExceeded") => SessionRejection.RateLimited,
            (401, _) => SessionRejection.InvalidCredentials,
            (400, not XrpcError.InvalidResponse) => SessionRejection.InvalidRequest,
            _ => SessionRejection.ServiceUnavailable,
        };
        return new LoginOutcome.Rejected(reason, error, RetryNotBefore(answer));
    }

    /// <summary>
    /// When the next refresh is due. An account active within <see cref="AccountSettings.ActiveWindow"/>
    /// is refreshed ahead of its access token's expiry; an idle one only well before its refresh token's
    /// expiry (keep-alive). <paramref name="jitter"/> in [0, 1) spreads accounts over the second half of the margin.
    /// </summary>
    public static DateTimeOffset NextRefreshAt(SessionTokens tokens, DateTimeOffset now, DateTimeOffset? lastActivity, double jitter, AccountSettings settings)
    {
        var keepAlive = Due(tokens.Refresh, settings.KeepAliveMargin, 1.0 / 3, jitter);
        var active = lastActivity is { } seen && now - seen <= settings.ActiveWindow;
        if (!active) return keepAlive;
        var access = Due(tokens.Access, settings.RefreshMargin, settings.RefreshMarginFraction, jitter);
        return access < keepAlive ? access : keepAlive;
    }

    /// <summary>True when the access token is expired or about to be.</summary>
    public static bool AccessExpired(SessionTokens tokens, DateTimeOffset now, AccountSettings settings)
    {
        var skew = tokens.Access.Lifetime is { } lifetime && lifetime / 10 < settings.ExpirySkew ? lifetime / 10 : settings.ExpirySkew;
        return tokens.AccessExpiresAt - skew <= now;
    }

    /// <summary>
    /// How long an access token must still be valid to be lent for a streamed body, which cannot be sent twice
    /// after an ExpiredToken: a quarter of its lifetime, at most request-timeout.
    /// </summary>
    public static TimeSpan StreamedValidity(SessionTokens tokens, AccountSettings settings)
    {
        var quarter = tokens.Access.Lifetime is { } lifetime && lifetime > TimeSpan.Zero ? lifetime / 4 : settings.RequestTimeout;
        return quarter < settings.RequestTimeout ? quarter : settings.RequestTimeout;
    }

    /// <summary>The delay before retry number <paramref name="attempt"/> (1-based), doubled each time, with jitter in [0, 1).</summary>
    public static TimeSpan Backoff(int attempt, double jitter, AccountSettings settings)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 20);
        var raw = Math.Min(settings.BackoffMin.TotalMilliseconds * Math.Pow(2, exponent), settings.BackoffMax.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(raw * (0.75 + 0.5 * jitter));
    }

    private static DateTimeOffset Due(JwtClaims claims, TimeSpan margin, double fraction, double jitter)
    {
        var lifetime = claims.Lifetime ?? margin;
        var lead = TimeSpan.FromTicks(Math.Min(margin.Ticks, (long)(lifetime.Ticks * fraction)));
        return claims.ExpiresAt - lead + TimeSpan.FromTicks((long)(lead.Ticks * 0.5 * jitter));
    }

    private static SessionGrant ReadGrant(XrpcResponse answer)
    {
        using var json = answer.TryParseJson() ?? throw new SessionFormatException("the body is not JSON");
        return SessionGrant.Parse(json.RootElement);
    }

    private static DateTimeOffset? RetryNotBefore(XrpcResponse answer) =>
        answer.Status == 429 || answer.RateLimit?.Remaining == 0 ? answer.RateLimit?.Reset : null;
}
