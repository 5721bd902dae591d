using System.Text;
using Supervisor.Actors.Account;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using static Supervisor.Actors.Account.AccountEvents;

namespace Supervisor.Actors.Tests.Account;

public sealed class AccountRulesSpec
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly AccountSettings Settings = new();

    private static XrpcResponse Answer(int status, string body, string contentType = "application/json") =>
        XrpcResponse.From(status, Encoding.UTF8.GetBytes(body), contentType, null);

    private static RefreshOutcome Classify(XrpcResponse answer) => AccountRules.ClassifyRefresh(Did, "alice.test", answer, Now, Settings);

    private static string SessionBody(string did, SessionTokens tokens) =>
        $$"""{"did":"{{did}}","handle":"alice.test","accessJwt":"{{tokens.AccessJwt}}","refreshJwt":"{{tokens.RefreshJwt}}","active":true}""";

    [Theory]
    [InlineData(400, "ExpiredToken", "Token has been revoked")]
    [InlineData(400, "ExpiredToken", "Token has expired")]
    [InlineData(400, "InvalidToken", "Token could not be verified")]
    public void A_revoked_expired_or_invalid_refresh_token_ends_the_session_with_needs_login(int status, string error, string message)
    {
        var outcome = Classify(Answer(status, $$"""{"error":"{{error}}","message":"{{message}}"}"""));
        var ended = Assert.IsType<RefreshOutcome.Ended>(outcome);
        Assert.Equal(SessionEndReason.NeedsLogin, ended.Reason);
        Assert.Equal(error, ended.Error.Error);
    }

    [Fact]
    public void An_error_body_whose_strings_are_not_utf8_is_an_invalid_answer_not_a_failure()
    {
        // {"error":"Expired<0xff>","message":"<0xc3>"}: JSON's structure holds; its strings cannot be read.
        var body = Encoding.ASCII.GetBytes("""{"error":"Expired!","message":"?"}""");
        body[17] = 0xff;
        body[31] = 0xc3;
        var answer = XrpcResponse.From(400, body, "application/json", null);
        Assert.Equal(XrpcError.InvalidResponse, answer.Error!.Error);
        Assert.Null(XrpcResponse.TryReadError(body));
    }

    [Fact]
    public void A_takedown_on_refresh_ends_the_session_as_taken_down()
    {
        var outcome = Classify(Answer(401, """{"error":"AccountTakedown","message":"Account has been taken down"}"""));
        Assert.Equal(SessionEndReason.TakenDown, Assert.IsType<RefreshOutcome.Ended>(outcome).Reason);
    }

    [Theory]
    [InlineData(500, """{"error":"InternalServerError","message":"Internal Server Error"}""", "application/json", "InternalServerError")]
    [InlineData(502, "<html>Bad Gateway</html>", "text/html", XrpcError.InvalidResponse)]
    [InlineData(200, """{"did":"did:plc:x","handle":""", "application/json", XrpcError.InvalidResponse)]
    [InlineData(200, "<html>ok</html>", "text/html", XrpcError.InvalidResponse)]
    public void Server_errors_html_and_truncated_json_are_transient(int status, string body, string contentType, string error)
    {
        var outcome = Classify(Answer(status, body, contentType));
        Assert.Equal(error, Assert.IsType<RefreshOutcome.Transient>(outcome).Error.Error);
    }

    [Fact]
    public void Network_failures_and_timeouts_are_transient()
    {
        Assert.IsType<RefreshOutcome.Transient>(Classify(XrpcResponse.Failed(XrpcError.Timeout, "no answer")));
        Assert.IsType<RefreshOutcome.Transient>(Classify(XrpcResponse.Failed(XrpcError.NetworkError, "refused")));
    }

    [Theory]
    [InlineData(0, 10, 10)]  // Retry-After only (a proxy in front of the PDS)
    [InlineData(3, 10, 10)]  // the later of the two
    [InlineData(10, 3, 10)]
    public void A_rate_limited_refresh_waits_for_the_later_of_the_reset_and_retry_after(int resetMinutes, int retryAfterMinutes, int expectedMinutes)
    {
        var answer = Answer(429, """{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}""") with
        {
            RateLimit = new RateLimitInfo(null, null, resetMinutes == 0 ? null : Now.AddMinutes(resetMinutes), null, Now.AddMinutes(retryAfterMinutes)),
        };
        Assert.Equal(Now.AddMinutes(expectedMinutes), Assert.IsType<RefreshOutcome.Transient>(Classify(answer)).RetryNotBefore);
    }

    [Fact]
    public void A_rate_limited_refresh_waits_for_the_reset()
    {
        var reset = Now.AddMinutes(3);
        var answer = Answer(429, """{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}""") with
        {
            RateLimit = new RateLimitInfo(30, 0, reset, "30;w=300"),
        };
        Assert.Equal(reset, Assert.IsType<RefreshOutcome.Transient>(Classify(answer)).RetryNotBefore);
    }

    [Fact]
    public void A_refresh_answer_of_another_did_is_not_accepted()
    {
        var other = "did:plc:zzzzzzzzzzzzzzzzzzzzzzzz";
        var outcome = Classify(Answer(200, SessionBody(other, TestJwt.Pair(other, Now))));
        Assert.IsType<RefreshOutcome.Transient>(outcome);
    }

    [Fact]
    public void A_refresh_answer_whose_token_type_is_a_long_text_with_line_breaks_is_quoted_bounded_and_on_one_line()
    {
        var typ = string.Concat(Enumerable.Repeat("not-refresh\n", 500));
        var refresh = TestJwt.Mint(typ, Did, "com.atproto.refresh", Now, Now.AddDays(90), "jti");
        var body = $$"""{"did":"{{Did}}","handle":"alice.test","accessJwt":"{{TestJwt.Access(Did, Now.AddHours(2), iat: Now)}}","refreshJwt":"{{refresh}}"}""";
        var error = Assert.IsType<RefreshOutcome.Transient>(Classify(Answer(200, body))).Error;
        Assert.StartsWith("the refresh answer is not a session: the refresh token has type 'not-refresh not-refresh", error.Message);
        Assert.InRange(error.Message.Length, 1, XrpcError.LongestMessage + 1);
        Assert.DoesNotContain(error.Message, char.IsControl);
    }

    [Fact]
    public void A_good_refresh_answer_gives_the_new_pair()
    {
        var tokens = TestJwt.Pair(Did, Now);
        var refreshed = Assert.IsType<RefreshOutcome.Refreshed>(Classify(Answer(200, SessionBody(Did, tokens))));
        Assert.Equal(tokens.RefreshJwt, refreshed.Grant.Tokens.RefreshJwt);
    }

    [Theory]
    [InlineData(400, "ExpiredToken", "Token has expired", RequestOutcome.RefreshAndRetry)]
    [InlineData(400, "InvalidToken", "Token could not be verified", RequestOutcome.RefreshAndRetry)]
    [InlineData(400, "InvalidToken", "Bad token scope", RequestOutcome.Deliver)]
    [InlineData(401, "AccountTakedown", "Account has been taken down", RequestOutcome.DeliverAndConfirmByRefresh)]
    [InlineData(401, "AccountDeactivated", "Account is deactivated", RequestOutcome.Deliver)]
    [InlineData(400, "InvalidRequest", "No service configured for x", RequestOutcome.Deliver)]
    public void Request_answers_are_read_as_the_real_pds_sends_them(int status, string error, string message, RequestOutcome expected)
    {
        Assert.Equal(expected, AccountRules.ClassifyRequest(Answer(status, $$"""{"error":"{{error}}","message":"{{message}}"}""")));
    }

    [Theory]
    [InlineData(401, "AuthenticationRequired", SessionRejection.InvalidCredentials)]
    [InlineData(401, "AuthFactorTokenRequired", SessionRejection.AuthFactorTokenRequired)]
    [InlineData(401, "AccountTakedown", SessionRejection.AccountTakedown)]
    [InlineData(429, "RateLimitExceeded", SessionRejection.RateLimited)]
    [InlineData(400, "InvalidRequest", SessionRejection.InvalidRequest)]
    [InlineData(503, "ServiceUnavailable", SessionRejection.ServiceUnavailable)]
    public void Login_errors_each_get_a_distinct_answer(int status, string error, SessionRejection expected)
    {
        var outcome = AccountRules.ClassifyLogin(Answer(status, $$"""{"error":"{{error}}","message":"m"}"""));
        Assert.Equal(expected, Assert.IsType<LoginOutcome.Rejected>(outcome).Reason);
    }

    [Fact]
    public void An_active_account_refreshes_within_the_margin_before_the_access_token_expires()
    {
        var tokens = TestJwt.Pair(Did, Now);
        var earliest = AccountRules.NextRefreshAt(tokens, Now, Now, 0.0, Settings);
        var latest = AccountRules.NextRefreshAt(tokens, Now, Now, 0.999, Settings);
        Assert.Equal(tokens.AccessExpiresAt - Settings.RefreshMargin, earliest);
        Assert.True(latest > earliest && latest < tokens.AccessExpiresAt - Settings.RefreshMargin / 2 + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Jitter_spreads_accounts_whose_tokens_expire_together()
    {
        // The margin is 10 minutes before a 2-hour token's expiry; jitter spreads refreshes over its second half.
        var tokens = TestJwt.Pair(Did, Now);
        var times = Enumerable.Range(0, 100).Select(i => AccountRules.NextRefreshAt(tokens, Now, Now, i / 100.0, Settings)).ToList();
        Assert.Equal(100, times.Distinct().Count());
        Assert.Equal(tokens.AccessExpiresAt - TimeSpan.FromMinutes(10), times.Min());
        Assert.InRange(times.Max() - times.Min(), TimeSpan.FromMinutes(4.9), TimeSpan.FromMinutes(5));
        // Evenly: each 30-second slice of the spread holds about a tenth of the accounts.
        Assert.All(times.GroupBy(t => (t - times.Min()).Ticks / TimeSpan.FromSeconds(30).Ticks), slice => Assert.InRange(slice.Count(), 8, 12));
    }

    [Fact]
    public void Short_lived_tokens_get_a_margin_of_a_quarter_of_their_lifetime()
    {
        // As the test PDS's, under the floor the specs run with (by default a refresh is at least a minute away).
        var tokens = TestJwt.Pair(Did, Now, TimeSpan.FromSeconds(20));
        var specs = Settings with { MinRefreshInterval = TimeSpan.FromSeconds(1) };
        Assert.Equal(tokens.AccessExpiresAt - TimeSpan.FromSeconds(5), AccountRules.NextRefreshAt(tokens, Now, Now, 0.0, specs));
    }

    [Fact]
    public void An_idle_account_is_kept_alive_well_before_its_refresh_token_expires()
    {
        var tokens = TestJwt.Pair(Did, Now);
        var due = AccountRules.NextRefreshAt(tokens, Now, lastActivity: null, 0.0, Settings);
        Assert.Equal(tokens.RefreshExpiresAt - Settings.KeepAliveMargin, due);
        Assert.True(due > tokens.AccessExpiresAt);
    }

    [Fact]
    public void Backoff_doubles_up_to_the_maximum()
    {
        Assert.Equal(Settings.BackoffMin, AccountRules.Backoff(1, 0.5, Settings));
        Assert.Equal(Settings.BackoffMin * 4, AccountRules.Backoff(3, 0.5, Settings));
        Assert.Equal(Settings.BackoffMax, AccountRules.Backoff(40, 0.5, Settings));
    }

    [Fact]
    public void A_refresh_intent_survives_in_the_state_until_the_new_pair_is_applied()
    {
        var tokens = TestJwt.Pair(Did, Now);
        var state = AccountRules.Apply(new AccountState(Did), new SessionEstablished(SessionOrigin.Login, "http://s", new SessionGrant(Did, "a.test", tokens), Now));
        state = AccountRules.Apply(state, new RefreshStarted(Now));
        Assert.True(state.RefreshPending);
        Assert.Same(tokens, state.Tokens);
        var next = TestJwt.Pair(Did, Now.AddSeconds(1));
        state = AccountRules.Apply(state, new SessionRefreshed(new SessionGrant(Did, "a.test", next), Now));
        Assert.False(state.RefreshPending);
        Assert.Equal(1, state.RefreshCount);
        Assert.Same(next, state.Tokens);
    }

    [Fact]
    public void A_logout_keeps_only_the_refresh_token_to_delete_and_then_nothing()
    {
        var tokens = TestJwt.Pair(Did, Now);
        var state = AccountRules.Apply(new AccountState(Did), new SessionEstablished(SessionOrigin.Login, "http://s", new SessionGrant(Did, "a.test", tokens), Now));
        state = AccountRules.Apply(state, new LogoutRequested(Now));
        Assert.Null(state.Session);
        Assert.Equal(tokens.RefreshJwt, state.PendingDeletion!.Value);
        state = AccountRules.Apply(state, new SessionDeleted(Now));
        Assert.Null(state.PendingDeletion);
        Assert.True(state.LoggedOut);
    }

    [Fact]
    public void Each_pending_deletion_goes_to_the_service_that_issued_its_token_whatever_session_came_since()
    {
        var (first, second) = (TestJwt.Pair(Did, Now), TestJwt.Pair(Did, Now.AddMinutes(1)));
        var state = AccountRules.Apply(new AccountState(Did), new SessionEstablished(SessionOrigin.Login, "https://entryway.example", new SessionGrant(Did, "a.test", first), Now));
        state = AccountRules.Apply(state, new LogoutRequested(Now)); // its deleteSession fails: still pending
        state = AccountRules.Apply(state, new SessionEstablished(SessionOrigin.Login, "https://pds.example", new SessionGrant(Did, "a.test", second), Now));
        state = AccountRules.Apply(state, new LogoutRequested(Now));

        Assert.Equal((first.RefreshJwt, "https://entryway.example"), (state.PendingDeletion!.Value, state.DeletionService));
        state = AccountRules.Apply(state, new SessionDeleted(Now));
        Assert.Equal((second.RefreshJwt, "https://pds.example"), (state.PendingDeletion!.Value, state.DeletionService));
        state = AccountRules.Apply(state, new SessionDeleted(Now));
        Assert.Null(state.PendingDeletion);

        // Kept before a deletion named its service (no service recorded): the account's, as then.
        var older = new AccountState(Did, Service: "https://pds.example", PendingDeletion: new("r1"), LaterDeletions: [new("r2")]);
        Assert.Equal("https://pds.example", older.DeletionService);
        Assert.Equal("https://pds.example", AccountRules.Apply(older, new SessionDeleted(Now)).DeletionService);
    }

    [Fact]
    public void Past_8_sessions_waiting_behind_a_pending_logout_the_oldest_waiting_is_given_up_and_the_rest_are_revoked_in_order()
    {
        // Eleven sessions each logged out while the first's deleteSession is still pending.
        var pairs = Enumerable.Range(0, 11).Select(i => TestJwt.Pair(Did, Now.AddMinutes(i))).ToList();
        var state = new AccountState(Did);
        foreach (var pair in pairs)
        {
            state = AccountRules.Apply(state, new SessionEstablished(SessionOrigin.Login, "https://pds.example", new SessionGrant(Did, "a.test", pair), Now));
            state = AccountRules.Apply(state, new LogoutRequested(Now));
        }

        // The pending one and the newest 8; the two waiting longest are given up (their tokens lapse by themselves).
        var revoked = new List<string>();
        while (state.PendingDeletion is { } pending)
        {
            revoked.Add(pending.Value);
            state = AccountRules.Apply(state, new SessionDeleted(Now));
        }
        Assert.Equal([pairs[0].RefreshJwt, .. pairs.Skip(3).Select(p => p.RefreshJwt)], revoked);
    }

    [Fact]
    public void A_refresh_without_a_did_document_keeps_the_known_pds()
    {
        var tokens = TestJwt.Pair(Did, Now);
        var state = AccountRules.Apply(new AccountState(Did), new SessionEstablished(SessionOrigin.Login, "http://entryway", new SessionGrant(Did, "a.test", tokens, PdsEndpoint: "http://pds"), Now));
        state = AccountRules.Apply(state, new SessionRefreshed(new SessionGrant(Did, "a.test", TestJwt.Pair(Did, Now)), Now));
        Assert.Equal("http://pds", state.Pds);
    }
}
