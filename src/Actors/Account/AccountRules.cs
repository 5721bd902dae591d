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
    /// <summary>The error of a session ended because its stored tokens no longer validate.</summary>
    public const string InvalidStoredSession = "InvalidStoredSession";

    /// <summary>
    /// The most logged-out sessions kept to revoke after the one whose deleteSession is pending (each needs a login, which
    /// the login budget bounds; past it the oldest is given up).
    /// </summary>
    public const int MaxLaterDeletions = 8;

    /// <summary>How many times a deleteSession at a service the account has left is tried (with backoff) before it is given up.</summary>
    public const int DeleteElsewhereAttempts = 20;

    /// <summary>
    /// The longest retry delay <see cref="Backoff"/> gives, whatever the settings say, so that adding it to any
    /// real clock reading cannot overflow.
    /// </summary>
    public static readonly TimeSpan LongestBackoff = TimeSpan.FromDays(365);

    /// <summary>
    /// The grant as the account keeps it: with the account's own DID string and the shared instance of its PDS's URL
    /// (one copy of each for the account's whole life, not one per refresh read from the wire or the journal).
    /// </summary>
    private static SessionGrant Kept(SessionGrant grant, AccountState state) =>
        grant with
        {
            Did = grant.Did == state.Did ? state.Did : grant.Did,
            PdsEndpoint = SharedStrings.Of(grant.PdsEndpoint),
        };

    /// <summary>
    /// Applies one journaled event. A session whose stored tokens no longer validate (see
    /// <see cref="SessionTokens.Problem"/>) is recovered as ended (<see cref="SessionEndReason.NeedsLogin"/>).
    /// </summary>
    public static AccountState Apply(AccountState state, IAccountEvent e) => e switch
    {
        SessionEstablished { Grant.Tokens.Problem: { } problem } s => state with
        {
            Handle = s.Grant.Handle,
            Service = s.Service,
            Session = null,
            RefreshPending = false,
            Ended = StoredSessionInvalid(problem, s.At),
            LoggedOut = false,
            LoginCount = state.LoginCount + (s.Origin == SessionOrigin.Import ? 0 : 1),
            SessionStartedAt = s.At,
        },
        SessionRefreshed { Grant.Tokens.Problem: { } problem } r => state with
        {
            Handle = r.Grant.Handle,
            Session = null,
            RefreshPending = false,
            Ended = StoredSessionInvalid(problem, r.At),
        },
        SessionEstablished s => state with
        {
            Handle = s.Grant.Handle,
            Service = SharedStrings.Of(s.Service),
            Session = Kept(s.Grant, state),
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
                ? Kept(r.Grant with { PdsEndpoint = state.Session.PdsEndpoint }, state)
                : Kept(r.Grant, state),
            RefreshPending = false,
            RefreshCount = state.RefreshCount + 1,
            LastRefreshAt = r.At,
        },
        SessionEnded x => state with { Session = null, RefreshPending = false, Ended = new SessionEnd(x.Reason, x.Error, x.At) },
        LogoutRequested => state.Session is not { } session ? state with { RefreshPending = false }
            : state.PendingDeletion is null ? state with
            {
                PendingDeletion = new SecretToken(session.Tokens.RefreshJwt), PendingDeletionService = state.Service, Session = null, RefreshPending = false,
            }
            // A logout of a session that came after a logout still pending (its deleteSession failing): both are revoked, in
            // turn, each at the service that issued it.
            : state with
            {
                LaterDeletions = [.. (state.LaterDeletions ?? []).TakeLast(MaxLaterDeletions - 1), new SecretToken(session.Tokens.RefreshJwt)],
                LaterDeletionServices = [.. LaterDeletionServices(state).TakeLast(MaxLaterDeletions - 1), state.Service],
                Session = null,
                RefreshPending = false,
            },
        HandleVerified h => state with { Handle = h.Handle, Session = state.Session is { } session ? session with { Handle = h.Handle } : null },
        SessionDeleted => state.LaterDeletions is { Count: > 0 } later && LaterDeletionServices(state) is var services
            ? state with
            {
                PendingDeletion = later[0], PendingDeletionService = services[0],
                LaterDeletions = later.Count > 1 ? later.Skip(1).ToList() : null,
                LaterDeletionServices = later.Count > 1 ? services.Skip(1).ToList() : null,
            }
            : state with { PendingDeletion = null, PendingDeletionService = null, LoggedOut = state.Session is null },
        OwnerClaimed o => state with { Owner = o.Node },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown account event"),
    };

    /// <summary>The service of each later deletion, one for each (null, the account's service, for those kept before they were).</summary>
    private static IReadOnlyList<string?> LaterDeletionServices(AccountState state)
    {
        var count = state.LaterDeletions?.Count ?? 0;
        var known = state.LaterDeletionServices ?? [];
        return known.Count == count ? known : [.. known.Take(count), .. Enumerable.Repeat<string?>(null, Math.Max(0, count - known.Count))];
    }

    /// <summary>
    /// A state restored from a snapshot: a session whose tokens no longer validate is ended at
    /// <paramref name="now"/>, as <see cref="Apply"/> ends one from an event.
    /// </summary>
    public static AccountState Restore(AccountState snapshot, DateTimeOffset now) =>
        snapshot.Session?.Tokens.Problem is { } problem
            ? snapshot with { Session = null, RefreshPending = false, Ended = StoredSessionInvalid(problem, now) }
            : snapshot;

    /// <summary>
    /// Reads a refreshSession answer for the account <paramref name="did"/> (whose handle is <paramref name="handle"/>),
    /// received at <paramref name="now"/>. A handle, e-mail or status that cannot be read costs the account nothing (it
    /// keeps <paramref name="handle"/>: <see cref="SessionGrant.ParseRefreshed"/>). A pair that parses but cannot serve (the access token expired or within the expiry skew, the refresh
    /// token expired) is a transient <see cref="XrpcError.InvalidResponse"/>, retried with backoff.
    /// </summary>
    public static RefreshOutcome ClassifyRefresh(string did, string? handle, XrpcResponse answer, DateTimeOffset now, AccountSettings settings)
    {
        if (answer.IsSuccess)
        {
            try
            {
                var grant = ReadGrant(answer, handle);
                if (grant.Did != did)
                    return new RefreshOutcome.Transient(new XrpcError(XrpcError.InvalidResponse, "the refreshed session belongs to another DID"), null);
                if (grant.Tokens.RefreshExpiresAt <= now)
                    return new RefreshOutcome.Transient(new XrpcError(XrpcError.InvalidResponse, "the refreshed session's refresh token has already expired"), null);
                if (AccessExpired(grant.Tokens, now, settings))
                    return new RefreshOutcome.Transient(new XrpcError(XrpcError.InvalidResponse, "the refreshed session's access token is already expired or about to expire"), null);
                return new RefreshOutcome.Refreshed(grant);
            }
            catch (SessionFormatException e)
            {
                // (Bounded as a server's error: the message may quote what the answer held, a token's type for one.)
                return new RefreshOutcome.Transient(XrpcError.FromServer(XrpcError.InvalidResponse, $"the refresh answer is not a session: {e.Message}"), null);
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

    /// <summary>
    /// Whether a login's (or an account creation's) answer is for the account asked for by <paramref name="identifier"/>:
    /// that DID, that handle (case aside, as the PDS looks it up), or, asked by e-mail, an answer that names no other
    /// e-mail. A server answering with another account's session (mixing its accounts up, or hostile) does not make the
    /// supervisor take that account, nor become its login service.
    /// </summary>
    public static bool AnswersIdentifier(string identifier, SessionGrant grant)
    {
        var asked = identifier.Trim().TrimStart('@');
        if (asked.StartsWith("did:", StringComparison.Ordinal)) return grant.Did == asked;
        if (asked.Contains('@')) return grant.Email is null || string.Equals(grant.Email, asked, StringComparison.OrdinalIgnoreCase);
        return string.Equals(grant.Handle, asked, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads the answer to an authenticated call.</summary>
    public static RequestOutcome ClassifyRequest(XrpcResponse answer) => ClassifyRequest(answer.Status, answer.Error?.Error, answer.Error?.Message);

    /// <summary>Reads the status and the error (name and message) of the answer to an authenticated call.</summary>
    public static RequestOutcome ClassifyRequest(int status, string? error, string? message) => (status, error, message) switch
    {
        (400 or 401, "ExpiredToken", _) => RequestOutcome.RefreshAndRetry,
        (400, "InvalidToken", "Token could not be verified") => RequestOutcome.RefreshAndRetry,
        (401, "AccountTakedown", _) => RequestOutcome.DeliverAndConfirmByRefresh,
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
                    XrpcError.FromServer(XrpcError.InvalidResponse, $"the answer is not a session: {e.Message}"), null);
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
    /// Never sooner than <see cref="AccountSettings.MinRefreshInterval"/> after the pair was received
    /// (<paramref name="receivedAt"/>, by the supervisor's clock; unknown: now), so that a server handing out tokens that
    /// live seconds, whatever their claims say, sets no faster pace; and never sooner than a second from now. A pair held
    /// since before a long stop is thus refreshed within a second, not lost. Total: no claims, settings or jitter make it throw.
    /// </summary>
    public static DateTimeOffset NextRefreshAt(
        SessionTokens tokens, DateTimeOffset now, DateTimeOffset? lastActivity, double jitter, AccountSettings settings, DateTimeOffset? receivedAt = null)
    {
        var due = Due(tokens.RefreshExpiresAt, tokens.RefreshLifetime, settings.KeepAliveMargin, 1.0 / 3, jitter, now);
        var active = lastActivity is { } seen && now - seen <= settings.ActiveWindow;
        if (active)
        {
            var access = Due(tokens.AccessExpiresAt, tokens.AccessLifetime, settings.RefreshMargin, settings.RefreshMarginFraction, jitter, now);
            if (access < due) due = access;
        }
        var floor = NonNegative(settings.MinRefreshInterval);
        var earliest = Plus(receivedAt is { } received && received < now ? received : now, floor.Ticks);
        var soonest = Plus(now, Math.Min(floor.Ticks, TimeSpan.TicksPerSecond));
        if (earliest < soonest) earliest = soonest;
        return due < earliest ? earliest : due;
    }

    /// <summary>True when the access token is expired or about to be (within the expiry skew, at most a tenth of its lifetime).</summary>
    public static bool AccessExpired(SessionTokens tokens, DateTimeOffset now, AccountSettings settings)
    {
        var skew = NonNegative(settings.ExpirySkew);
        if (tokens.AccessLifetime is { } lifetime && lifetime / 10 < skew) skew = NonNegative(lifetime / 10);
        return Plus(tokens.AccessExpiresAt, -skew.Ticks) <= now;
    }

    /// <summary>
    /// How long an access token must still be valid to be lent for a streamed body, which cannot be sent twice
    /// after an ExpiredToken: a quarter of its lifetime, at most request-timeout.
    /// </summary>
    public static TimeSpan StreamedValidity(SessionTokens tokens, AccountSettings settings)
    {
        var quarter = tokens.AccessLifetime is { } lifetime && lifetime > TimeSpan.Zero ? lifetime / 4 : settings.RequestTimeout;
        return quarter < settings.RequestTimeout ? quarter : settings.RequestTimeout;
    }

    /// <summary>
    /// The delay before retry number <paramref name="attempt"/> (1-based), doubled each time, with jitter in [0, 1);
    /// between zero and <see cref="LongestBackoff"/> for any input.
    /// </summary>
    public static TimeSpan Backoff(int attempt, double jitter, AccountSettings settings)
    {
        var exponent = Math.Clamp(attempt - 1L, 0, 20);
        var longest = Math.Min(NonNegative(settings.BackoffMax).TotalMilliseconds, LongestBackoff.TotalMilliseconds);
        var raw = Math.Min(NonNegative(settings.BackoffMin).TotalMilliseconds * Math.Pow(2, exponent), longest);
        var delay = raw * (0.75 + 0.5 * Fraction(jitter));
        return TimeSpan.FromMilliseconds(Math.Clamp(delay, 0, LongestBackoff.TotalMilliseconds));
    }

    /// <summary>
    /// When a refresh ahead of a token's expiry (<paramref name="expiresAt"/>, after <paramref name="lifetime"/> if it has an issue time) is due; saturates instead of overflowing. A token without
    /// <c>iat</c> counts as living from <paramref name="now"/>: taken as living the whole margin, a short-lived one (from a
    /// hostile or broken server) was due at once, and refreshed at every min-refresh-interval for as long as it answered so.
    /// </summary>
    private static DateTimeOffset Due(DateTimeOffset expiresAt, TimeSpan? lifetime, TimeSpan margin, double fraction, double jitter, DateTimeOffset now)
    {
        var lived = NonNegative(lifetime ?? TimeSpan.FromTicks(Math.Max(0, expiresAt.UtcTicks - now.UtcTicks)));
        var share = double.IsNaN(fraction) ? 0 : Math.Clamp(fraction, 0, 1);
        var lead = (long)Math.Min(NonNegative(margin).Ticks, lived.Ticks * share);
        return Plus(expiresAt, -lead + (long)(lead * 0.5 * Fraction(jitter)));
    }

    /// <summary><paramref name="at"/> moved by <paramref name="ticks"/>, held within the range of <see cref="DateTimeOffset"/>.</summary>
    private static DateTimeOffset Plus(DateTimeOffset at, long ticks)
    {
        var utc = at.UtcTicks;
        if (ticks > 0 && ticks > DateTimeOffset.MaxValue.UtcTicks - utc) return DateTimeOffset.MaxValue;
        if (ticks < 0 && ticks < DateTimeOffset.MinValue.UtcTicks - utc) return DateTimeOffset.MinValue;
        return new DateTimeOffset(utc + ticks, TimeSpan.Zero);
    }

    private static TimeSpan NonNegative(TimeSpan span) => span < TimeSpan.Zero ? TimeSpan.Zero : span;

    /// <summary>A jitter held to [0, 1] (NaN counts as 0).</summary>
    private static double Fraction(double value) => double.IsNaN(value) ? 0 : Math.Clamp(value, 0, 1);

    private static SessionEnd StoredSessionInvalid(string problem, DateTimeOffset at) =>
        new(SessionEndReason.NeedsLogin, new XrpcError(InvalidStoredSession, $"the stored session is invalid ({problem}): log in again"), at);

    private static SessionGrant ReadGrant(XrpcResponse answer, string? handle = null)
    {
        using var json = answer.TryParseJson() ?? throw new SessionFormatException("the body is not JSON");
        return handle is null ? SessionGrant.Parse(json.RootElement) : SessionGrant.ParseRefreshed(json.RootElement, handle);
    }

    /// <summary>
    /// When a rate-limited answer says to come back: a 429 at the later of its limit's reset and its Retry-After (a proxy in
    /// front of a PDS may send only the latter), a last allowed call at its reset.
    /// </summary>
    private static DateTimeOffset? RetryNotBefore(XrpcResponse answer) => answer.RateLimit is not { } info ? null
        : answer.Status == 429 ? (info.RetryAfter > info.Reset || info.Reset is null ? info.RetryAfter : info.Reset)
        : info.Remaining == 0 ? info.Reset : null;
}
