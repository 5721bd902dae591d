using Supervisor.Actors.Account;
using Supervisor.Actors.Events;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>The account actor against the in-process fake PDS: the rules that need precise control of the server.</summary>
public sealed class AccountSessionActorSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.request-timeout = 2s")
{
    private const string CreateSession = "com.atproto.server.createSession";
    private const string RefreshSession = "com.atproto.server.refreshSession";
    private const string DeleteSession = "com.atproto.server.deleteSession";
    private const string GetFeed = "app.bsky.feed.getFeed";

    [Fact]
    public async Task Many_concurrent_requests_across_several_expiries_all_succeed_with_exactly_one_refresh_at_a_time()
    {
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(3);
        Pds.RefreshLatency = TimeSpan.FromMilliseconds(300);
        var account = await LoggedInAsync();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (DateTime.UtcNow < until)
            {
                if (await AskAsync(new CallXrpc(account.Did, GetSession)) is not XrpcResponse { Status: 200 }) Interlocked.Increment(ref failures);
            }
        }));
        var status = await StatusAsync(account.Did);
        Assert.Equal(0, failures);
        Assert.Equal(1, Pds.MaxConcurrentRefreshes(account.Did));
        Assert.Equal(Pds.CallCount(RefreshSession), status.RefreshCount);
        Assert.InRange(status.RefreshCount, 3, 5);
    }

    [Fact]
    public async Task An_expired_token_answer_triggers_one_refresh_and_each_request_is_retried_once()
    {
        var account = await LoggedInAsync();
        await Task.Delay(1100);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => CallAsync(account.Did, GetSession)));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.Equal(1, Pds.CallCount(RefreshSession));
        // Each request refused with ExpiredToken went once more, and only once; the others went once.
        var refused = Pds.Rejections("ExpiredToken");
        Assert.InRange(refused, 1, 10);
        Assert.Equal(10 + refused, Pds.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task A_request_refused_again_after_the_refresh_is_not_retried_a_second_time()
    {
        var account = await LoggedInAsync();
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.MaxValue; // the refreshed access token too
        var answer = await CallAsync(account.Did, GetSession);
        Assert.Equal((400, "ExpiredToken"), (answer.Status, answer.Error!.Error));
        Assert.Equal(2, Pds.CallCount("com.atproto.server.getSession"));
        Assert.Equal(1, Pds.CallCount(RefreshSession));
    }

    [Fact]
    public async Task A_call_whose_refresh_failed_is_answered_Degraded_with_its_retry_time_and_not_sent_again_with_the_refused_token()
    {
        var account = await LoggedInAsync();
        await Task.Delay(1100);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Pds.FailNext(RefreshSession, FakeFailure.ServerError500);

        var answer = Assert.IsType<AccountUnavailable>(await AskAsync(new CallXrpc(account.Did, GetSession)));
        Assert.Equal((AccountStateName.Degraded, "InternalServerError"), (answer.State, answer.Error.Error));
        Assert.NotNull(answer.RetryNotBefore);
        Assert.Equal(1, Pds.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task An_idle_account_is_refreshed_on_its_first_request_after_the_access_token_expired()
    {
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(3);
        var account = await LoggedInAsync();
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(0, Pds.CallCount(RefreshSession));
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
        Assert.Equal(1, Pds.CallCount(RefreshSession));
    }

    [Fact]
    public async Task A_two_factor_login_asks_for_the_code_and_succeeds_with_it()
    {
        var account = await LoggedInAsync("twofa.test");
        Assert.IsType<LoggedOut>(await AskAsync(new Logout(account.Did)));
        // A login elsewhere that names the account's handle and is asked for a code says nothing of this account.
        await using (var elsewhere = await FakePdsServer.StartAsync())
        {
            var stranger = elsewhere.CreateAccount("twofa.test", "pw-elsewhere");
            elsewhere.RequireAuthFactor(stranger.Did, "999999");
            var strangers = Assert.IsType<SessionRejected>(await AskAsync(new Login(elsewhere.Url, "twofa.test", "pw-elsewhere")));
            Assert.Equal(SessionRejection.AuthFactorTokenRequired, strangers.Reason);
            Assert.NotEqual(AccountStateName.AwaitingAuthFactor, (await StatusAsync(account.Did)).State);
        }
        Pds.RequireAuthFactor(account.Did, "123456");
        var asked = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "twofa.test", "pw-twofa.test")));
        Assert.Equal(SessionRejection.AuthFactorTokenRequired, asked.Reason);
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).State == AccountStateName.AwaitingAuthFactor, TimeSpan.FromSeconds(5), "AwaitingAuthFactor");
        var started = Assert.IsType<SessionStarted>(await AskAsync(new Login(Pds.Url, "twofa.test", "pw-twofa.test", "123456")));
        Assert.Equal(AccountStateName.Active, started.Status.State);
    }

    [Theory]
    [InlineData(FakeFailure.ServerError500, "InternalServerError")]
    [InlineData(FakeFailure.Html502, XrpcError.InvalidResponse)]
    [InlineData(FakeFailure.TruncatedJson, XrpcError.InvalidResponse)]
    [InlineData(FakeFailure.DropConnection, XrpcError.NetworkError)]
    [InlineData(FakeFailure.Hang, XrpcError.Timeout)]
    [InlineData(FakeFailure.RateLimited, "RateLimitExceeded")]
    public async Task A_transient_refresh_failure_keeps_the_session_degraded_and_the_retry_recovers(FakeFailure failure, string error)
    {
        var account = await LoggedInAsync();
        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref, account.Did));
        Pds.FailNext(RefreshSession, failure);
        var degraded = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did))).Status;
        Assert.Equal(AccountStateName.Degraded, degraded.State);
        Assert.Equal(error, degraded.LastError!.Error);
        Assert.Equal(error, events.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.UpdateFailure).Error!.Error);
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
        events.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.Refresh, TimeSpan.FromSeconds(10));
        Assert.Equal(AccountStateName.Active, (await StatusAsync(account.Did)).State);
    }

    [Fact]
    public async Task A_revoked_refresh_token_ends_the_session_and_callers_are_told_at_once()
    {
        var account = await LoggedInAsync();
        Pds.RevokeAllRefreshTokens(account.Did);
        var status = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did))).Status;
        Assert.Equal(AccountStateName.NeedsLogin, status.State);
        Assert.Equal("ExpiredToken", status.LastError!.Error);
        var unavailable = Assert.IsType<AccountUnavailable>(await AskAsync(new CallXrpc(account.Did, GetSession)));
        Assert.Equal(AccountStateName.NeedsLogin, unavailable.State);
        Assert.IsType<SessionStarted>(await AskAsync(new Login(Pds.Url, account.Handle, account.Password)));
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task A_failed_logout_stays_pending_and_is_retried_until_the_server_deletes_the_session()
    {
        var account = await LoggedInAsync();
        var refreshJwt = ExportedTokens(await AskAsync(new ExportSession(account.Did, SessionFormat.Python))).RefreshJwt;
        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref));
        Pds.FailNext(DeleteSession, FakeFailure.ServerError500, times: 2);
        var pending = Assert.IsType<LogoutPending>(await AskAsync(new Logout(account.Did)));
        Assert.Equal("InternalServerError", pending.Error.Error);
        Assert.Equal(AccountStateName.LoggingOut, (await StatusAsync(account.Did)).State);
        events.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.DeleteFailure);
        var deleted = events.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.Deleted, TimeSpan.FromSeconds(10));
        Assert.Equal(AccountStateName.LoggedOut, deleted.State);
        Assert.False(Pds.IsRefreshTokenLive(refreshJwt));
        Assert.Equal(3, Pds.CallCount(DeleteSession));
    }

    [Fact]
    public async Task Without_identity_checks_a_PDS_over_plain_http_away_from_this_machine_is_still_never_believed()
    {
        // This spec runs with supervisor.identity.verify off: what the server says is believed, but for this.
        var account = Pds.CreateAccount("plain.test", "pw-plain");
        Pds.PdsEndpointInDidDoc = "http://pds.example.com";
        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, account.Handle, account.Password)));
        Assert.Equal((SessionRejection.IdentityUnverified, "IdentityUnverified"), (refused.Reason, refused.Error.Error));

        Pds.PdsEndpointInDidDoc = null;
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        Pds.PdsEndpointInDidDoc = "http://pds.example.com"; // now in the refresh answer
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(Pds.Url, (await StatusAsync(account.Did)).Pds);
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task A_handle_change_reported_by_thePds_is_followed()
    {
        var account = await LoggedInAsync("old.test");
        Pds.ChangeHandle(account.Did, "new.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("new.test")) is AccountStatus { Handle: "new.test" }, TimeSpan.FromSeconds(5), "the new handle");
        Assert.IsType<AccountNotFound>(await AskAsync(new GetAccountStatus("old.test")));
    }

    [Fact]
    public async Task With_identities_unverified_a_handle_finds_the_last_account_to_claim_it_for_status_and_export()
    {
        // The specs run with supervisor.identity.verify off: a handle is taken as the PDS reports it, unchecked.
        var first = await LoggedInAsync("claimed.test");
        var second = await LoggedInAsync("second.test");
        Assert.Equal(first.Did, (await StatusAsync("claimed.test")).Did);

        Pds.ChangeHandle(second.Did, "claimed.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(second.Did)));
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("claimed.test")) is AccountStatus { Did: var did } && did == second.Did,
            TimeSpan.FromSeconds(10), "the handle to find the account that claimed it last");
        var exported = Assert.IsType<SessionExported>(await AskAsync(new ExportSession("claimed.test", SessionFormat.Json)));
        Assert.Equal(second.Did, exported.Did);
        Assert.Equal(second.Did, ImportedSession.Parse(exported.Session).Grant.Did);
        // The first still holds its session and is found by its DID, under the handle it last reported.
        var firstStatus = await StatusAsync(first.Did);
        Assert.Equal((first.Did, "claimed.test"), (firstStatus.Did, firstStatus.Handle));
    }

    [Fact]
    public async Task Imports_and_revocations_are_published_as_session_events()
    {
        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref));
        var account = Pds.CreateAccount("ev.test", "pw-ev");
        var (access, refresh) = Pds.IssuePair(account.Did);
        Assert.IsType<SessionStarted>(await AskAsync(new ImportSession($"ev.test:::{account.Did}:::{access}:::{refresh}:::{Pds.Url}")));
        Assert.Equal(SessionEventKind.Import, events.ExpectMsg<SessionEvent>().Kind);
        Assert.Equal(SessionEventKind.Refresh, events.ExpectMsg<SessionEvent>().Kind); // the import's validation
        Pds.RevokeAllRefreshTokens(account.Did);
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        var deleted = events.ExpectMsg<SessionEvent>();
        Assert.Equal((SessionEventKind.Deleted, "ExpiredToken", AccountStateName.NeedsLogin), (deleted.Kind, deleted.Error?.Error, deleted.State));
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Session_events_carry_tokens_only_to_subscribers_that_asked_for_them()
    {
        var withTokens = CreateTestProbe();
        var withoutTokens = CreateTestProbe();
        var otherAccount = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(withTokens.Ref, IncludeTokens: true));
        await AskAsync(new SubscribeSessionEvents(withoutTokens.Ref));
        await AskAsync(new SubscribeSessionEvents(otherAccount.Ref, Did: "did:plc:someoneelse"));
        var account = await LoggedInAsync();
        var created = withTokens.ExpectMsg<SessionEvent>();
        Assert.Equal(SessionEventKind.Create, created.Kind);
        Assert.NotNull(created.Session);
        Assert.Null(withoutTokens.ExpectMsg<SessionEvent>().Session);
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        var refreshed = withTokens.ExpectMsg<SessionEvent>();
        Assert.Equal(SessionEventKind.Refresh, refreshed.Kind);
        Assert.NotEqual(created.Session!.Tokens.RefreshJwt, refreshed.Session!.Tokens.RefreshJwt);
        Assert.DoesNotContain(refreshed.Session.Tokens.AccessJwt, refreshed.ToString());
        Assert.Null(withoutTokens.ExpectMsg<SessionEvent>().Session);
        otherAccount.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Requests_go_to_thePds_of_the_did_document_and_session_calls_to_the_login_service()
    {
        await using var pds = await FakePdsServer.StartAsync();
        Pds.PdsEndpointInDidDoc = pds.Url;
        var account = Pds.CreateAccount("alice.test", "pw-alice");
        pds.Host(account);
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        var status = await StatusAsync(account.Did);
        Assert.Equal(pds.Url, status.Pds);
        Assert.Equal(Pds.Url, status.Service);
        await AskAsync(new CallXrpc(account.Did, GetSession));
        Assert.Equal(1, pds.CallCount("com.atproto.server.getSession"));
        Assert.Equal(0, Pds.CallCount("com.atproto.server.getSession"));
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(1, Pds.CallCount(RefreshSession));
    }

    [Fact]
    public async Task A_misbehaving_answer_reaches_the_caller_and_other_accounts_are_unaffected()
    {
        var alice = await LoggedInAsync("alice.test");
        var bob = await LoggedInAsync("bob.test");
        Pds.FailNext("com.atproto.server.getSession", FakeFailure.Html502);
        var bad = await CallAsync(alice.Did, GetSession);
        Assert.Equal(502, bad.Status);
        Assert.Equal(XrpcError.InvalidResponse, bad.Error!.Error);
        Pds.FailNext("com.atproto.server.getSession", FakeFailure.Hang);
        var timedOut = await CallAsync(alice.Did, GetSession);
        Assert.Equal(XrpcError.Timeout, timedOut.Error!.Error);
        Assert.Equal(200, (await CallAsync(bob.Did, GetSession)).Status);
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        Assert.Equal(AccountStateName.Active, (await StatusAsync(alice.Did)).State);
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_answer()
    {
        var garbage = Assert.IsType<SessionRejected>(await AskAsync(new ImportSession("not a session")));
        Assert.Equal(SessionRejection.InvalidSession, garbage.Reason);
        Assert.IsType<AccountNotFound>(await AskAsync(new CallXrpc("nobody.test", GetSession)));
        var badService = Assert.IsType<SessionRejected>(await AskAsync(new Login("ftp://x", "a", "b")));
        Assert.Equal(SessionRejection.InvalidRequest, badService.Reason);
        var unreachable = Assert.IsType<SessionRejected>(await AskAsync(new Login("http://127.0.0.1:1", "a", "b")));
        Assert.Equal(SessionRejection.ServiceUnavailable, unreachable.Reason);
    }

    [Fact]
    public async Task An_AccountTakedown_a_service_passes_on_through_the_PDS_does_not_end_the_session()
    {
        var account = await LoggedInAsync();
        // A PDS passes on the answers of the services it forwards to (atproto-proxy, app.bsky.* to its AppView): a
        // service answering AccountTakedown, while the PDS's own session goes on.
        Pds.AnswerWith(GetFeed, """{"error":"AccountTakedown","message":"Account has been taken down"}"""u8.ToArray(), "application/json", status: 401);
        var answers = new List<XrpcResponse>();
        for (var i = 0; i < 5; i++) answers.Add(await CallAsync(account.Did, XrpcRequest.Query(GetFeed)));

        // Each answer is handed over as it came; the refresh that checks it (the PDS's own refreshSession) succeeds, and
        // the next answers alike do not cost a refresh each (held off as refusals are).
        Assert.All(answers, a => Assert.Equal((401, "AccountTakedown"), (a.Status, a.Error!.Error)));
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).State == AccountStateName.Active, TimeSpan.FromSeconds(5), "Active");
        Assert.InRange(Pds.CallCount(RefreshSession), 1, answers.Count - 1);
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task An_AccountTakedown_while_a_refresh_retry_is_pending_is_left_to_that_retry_and_the_account_serves_on()
    {
        var account = await LoggedInAsync();
        Pds.FailNext(RefreshSession, FakeFailure.ServerError500);
        await AskAsync(new RefreshNow(account.Did));
        Assert.Equal(AccountStateName.Degraded, (await StatusAsync(account.Did)).State); // a retry is due later
        Pds.AnswerWith(GetFeed, """{"error":"AccountTakedown","message":"Account has been taken down"}"""u8.ToArray(), "application/json", status: 401);

        Assert.Equal(401, (await CallAsync(account.Did, XrpcRequest.Query(GetFeed))).Status);
        // The token was not refused: the account goes on lending it, as a degraded account does.
        Assert.Equal(200, Assert.IsType<XrpcResponse>(await AskAsync(new CallXrpc(account.Did, GetSession))).Status);
    }

    [Fact]
    public async Task A_takedown_seen_on_a_request_ends_the_session_once_the_PDS_refuses_the_refresh_too()
    {
        var account = await LoggedInAsync();
        Pds.Takedown(account.Did);
        // As on the reference PDS: a read no longer finds the account (not an end of the session by itself)...
        var read = await CallAsync(account.Did, GetSession);
        Assert.Equal((400, "InvalidRequest"), (read.Status, read.Error!.Error));
        Assert.Equal(AccountStateName.Active, (await StatusAsync(account.Did)).State);
        // ...and a write says AccountTakedown: the refresh that checks it is refused AccountTakedown too, which ends it.
        var answer = await CallAsync(account.Did, XrpcRequest.Procedure("com.atproto.repo.createRecord", """{"repo":"x","collection":"app.bsky.feed.post","record":{}}"""));
        Assert.Equal((401, "AccountTakedown"), (answer.Status, answer.Error!.Error));
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).State == AccountStateName.TakenDown, TimeSpan.FromSeconds(5), "TakenDown");
        Assert.Equal(1, Pds.CallCount(RefreshSession));
        Assert.Equal(AccountStateName.TakenDown, Assert.IsType<AccountUnavailable>(await AskAsync(new CallXrpc(account.Did, GetSession))).State);
    }

    [Fact]
    public async Task An_idle_account_is_refreshed_before_its_refresh_token_expires()
    {
        Pds.RefreshTokenLifetime = TimeSpan.FromSeconds(6);
        var account = await LoggedInAsync();
        await Task.Delay(TimeSpan.FromSeconds(7));
        var status = await StatusAsync(account.Did);
        Assert.InRange(status.RefreshCount, 1, 3);
        Assert.True(status.RefreshExpiresAt > DateTimeOffset.UtcNow);
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task Proactive_refreshes_keep_an_active_account_from_ever_meeting_an_expired_token()
    {
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(4);
        var account = await LoggedInAsync();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
            await Task.Delay(500);
        }
        Assert.True(Pds.CallCount(RefreshSession) >= 2);
        Assert.Equal(0, Pds.Rejections("ExpiredToken"));
    }

    [Fact]
    public async Task An_active_account_refreshes_before_expiry_without_waiting_for_a_request()
    {
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(4); // refreshed 0.5 to 1 s before it expires
        var account = await LoggedInAsync();
        var before = ExportedTokens(await AskAsync(new ExportSession(account.Did, SessionFormat.Json)));
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status); // makes it active
        // No request while the token runs out: the refresh comes from the account's own timer, ahead of expiry.
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount(RefreshSession) == 1), TimeSpan.FromSeconds(15), "a refresh without a request");
        // When the refresh started, as journaled (not the wall clock after a poll, which a busy machine delays).
        var started = JournalRows.Read(Journal, AccountSessionActor.PersistenceIdFor(account.Did))
            .Single(r => r.Manifest.StartsWith("RefreshStarted.", StringComparison.Ordinal));
        var startedAt = System.Text.Json.JsonDocument.Parse(started.Payload).RootElement.GetProperty("at").GetDateTimeOffset();
        Assert.True(startedAt < before.AccessExpiresAt, "refreshed before the old access token expired");
        var calls = Pds.CallCount("com.atproto.server.getSession");
        Assert.Equal(1, calls);
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
        Assert.Equal(1, Pds.CallCount(RefreshSession));
        Assert.Equal(0, Pds.Rejections("ExpiredToken"));
    }

    private static SessionTokens ExportedTokens(object reply) =>
        ImportedSession.Parse(Assert.IsType<SessionExported>(reply).Session).Grant.Tokens;
}
