using Supervisor.Actors.Account;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Limits;

/// <summary>
/// The accounts share a server's budget (a fake PDS with the reference PDS's per-IP limit of 40 calls per
/// 6 s): fairly, with a reserve for refreshes, and after a 429 nobody asks that server again before the reset.
/// </summary>
public sealed class ServerLimitsSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, """supervisor.server-limits.shared = "40 per 6s" """)
{
    private const string CreateRecord = "com.atproto.repo.createRecord";
    private const string GetSessionNsid = "com.atproto.server.getSession";
    private const string GetFeed = "app.bsky.feed.getFeed";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Pds.SharedLimit = 40;
        Pds.SharedWindow = TimeSpan.FromSeconds(6);
    }


    /// <summary>Waits for the start of a fresh window of the fake, so that a test has all of it.</summary>
    private async Task FreshWindowAsync()
    {
        var probe = await Client.SendAsync(Pds.Url, XrpcRequest.Query("com.atproto.server.describeServer"), null);
        var reset = probe.RateLimit!.Reset!.Value;
        await Task.Delay(reset - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task The_status_of_a_server_shows_the_limit_remaining_and_reset_its_headers_give()
    {
        Pds.SharedLimit = 53; // not the configured 40: only the server's headers can say 53
        var alice = await LoggedInAsync("alice.test");
        await FreshWindowAsync();
        Pds.UseSharedBudget(20); // other clients behind the same IP, unseen by the supervisor
        for (var i = 0; i < 3; i++) Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        var server = Assert.Single(Limits.Snapshot(DateTimeOffset.UtcNow), s => s.Server == new Uri(Pds.Url).Authority);
        var probe = (await Client.SendAsync(Pds.Url, XrpcRequest.Query("com.atproto.server.describeServer"), null)).RateLimit!;

        Assert.Equal(53, server.Limit);
        Assert.Equal(53 - 20 - 3, server.Remaining);
        Assert.Equal(server.Remaining - 1, probe.Remaining);
        Assert.Equal(probe.Reset, server.Reset);
    }

    [Fact]
    public async Task One_busy_account_cannot_starve_the_others_and_the_server_never_answers_429()
    {
        var busy = await LoggedInAsync("busy.test");
        var quiet = await LoggedInAsync("quiet.test");
        await FreshWindowAsync();
        Assert.Equal(200, (await CallAsync(quiet.Did, GetSession)).Status);

        var answers = new List<XrpcResponse>();
        for (var i = 0; i < 60; i++) answers.Add(await CallAsync(busy.Did, GetSession));
        var served = answers.Count(a => a.Status == 200);
        var held = answers.Where(a => a.Status == 429).ToList();
        Assert.Equal(60, served + held.Count);
        Assert.InRange(served, 15, 25);
        Assert.All(held, a => Assert.StartsWith("held by the supervisor", a.Error!.Message));
        Assert.All(held, a => Assert.InRange(a.RateLimit!.Reset!.Value, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddSeconds(7)));

        for (var i = 0; i < 10; i++) Assert.Equal(200, (await CallAsync(quiet.Did, GetSession)).Status);
        Assert.Equal(0, Pds.Rejections("RateLimitExceeded"));
    }

    [Fact]
    public async Task A_refresh_is_never_starved_by_ordinary_requests()
    {
        var alice = await LoggedInAsync("alice.test");
        await FreshWindowAsync();
        XrpcResponse last;
        var calls = 0;
        do
        {
            last = await CallAsync(alice.Did, GetSession);
            calls++;
        }
        while (last.Status == 200 && calls < 100);
        Assert.Equal(429, last.Status);
        Assert.Contains("kept for refreshes", last.Error!.Message);
        var refreshes = Pds.CallCount("com.atproto.server.refreshSession");
        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.Equal(Supervisor.Actors.Protocol.AccountStateName.Active, refreshed.Status.State);
        Assert.Equal(refreshes + 1, Pds.CallCount("com.atproto.server.refreshSession"));
        Assert.Equal(0, Pds.Rejections("RateLimitExceeded"));
    }

    [Fact]
    public async Task After_a_429_under_the_shared_policy_no_account_asks_that_server_again_before_the_reset()
    {
        var alice = await LoggedInAsync("alice.test");
        var bob = await LoggedInAsync("bob.test");
        await FreshWindowAsync();
        Pds.UseSharedBudget(40); // other clients behind the same IP spent the window
        var refused = await CallAsync(alice.Did, GetSession);
        Assert.Equal(429, refused.Status);
        Assert.Equal("Rate Limit Exceeded", refused.Error!.Message);
        var reset = refused.RateLimit!.Reset!.Value;

        var calls = Pds.CallCount(GetSessionNsid);
        var held = await CallAsync(bob.Did, GetSession);
        Assert.Equal(429, held.Status);
        Assert.Equal(reset, held.RateLimit!.Reset);
        Assert.Equal(calls, Pds.CallCount(GetSessionNsid));

        await Task.Delay(reset - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        Assert.Equal(200, (await CallAsync(bob.Did, GetSession)).Status);
        Assert.Equal(1, Pds.Rejections("RateLimitExceeded"));
    }

    [Fact]
    public async Task A_429_to_a_login_holds_that_identifiers_logins_at_the_server_until_its_reset_and_not_anothers()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        Pds.RateLimitedResetAfter = TimeSpan.FromSeconds(10); // long enough for the logins below on a loaded machine
        Pds.FailNext("com.atproto.server.createSession", FakeFailure.RateLimited); // the PDS's own per-account limit
        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, alice.Handle, alice.Password)));
        Assert.Equal(SessionRejection.RateLimited, refused.Reason);
        var logins = Pds.CallCount("com.atproto.server.createSession");

        // Asked again at once, with the supervisor's own budget far from spent: refused here, not sent to be refused again.
        var held = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, " " + alice.Handle.ToUpperInvariant(), alice.Password)));
        Assert.Equal((SessionRejection.RateLimited, refused.RetryNotBefore), (held.Reason, held.RetryNotBefore));
        Assert.Equal(logins, Pds.CallCount("com.atproto.server.createSession"));
        Assert.IsType<SessionStarted>(await AskAsync(new Login(Pds.Url, bob.Handle, bob.Password)));

        await Task.Delay(refused.RetryNotBefore!.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        Assert.IsType<SessionStarted>(await AskAsync(new Login(Pds.Url, alice.Handle, alice.Password)));
    }

    [Fact]
    public async Task A_429_of_one_accounts_own_limit_holds_only_that_accounts_method_until_the_reset()
    {
        var alice = await LoggedInAsync("alice.test");
        var bob = await LoggedInAsync("bob.test");
        var post = XrpcRequest.Procedure(CreateRecord, """{"repo":"x","collection":"app.bsky.feed.post","record":{}}""");
        Pds.RateLimitedResetAfter = TimeSpan.FromSeconds(10); // long enough for the calls below on a loaded machine
        Pds.FailNext(CreateRecord, FakeFailure.RateLimited); // policy 30;w=300
        var refused = await CallAsync(alice.Did, post);
        Assert.Equal(429, refused.Status);
        var calls = Pds.CallCount(CreateRecord);

        var held = await CallAsync(alice.Did, post);
        Assert.Equal(429, held.Status);
        Assert.Contains("this account's com.atproto.repo.createRecord calls", held.Error!.Message);
        Assert.Equal(calls, Pds.CallCount(CreateRecord));
        // The same method in another case (the PDS routes names ignoring case) is held too.
        Assert.Equal(429, (await CallAsync(alice.Did, post with { Nsid = "com.atproto.repo.CreateRecord" })).Status);
        Assert.Equal(0, Pds.CallCount("com.atproto.repo.CreateRecord"));
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        Assert.Equal(200, (await CallAsync(bob.Did, post)).Status);

        await Task.Delay(refused.RateLimit!.Reset!.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        Assert.Equal(200, (await CallAsync(alice.Did, post)).Status);
    }

    [Fact]
    public async Task A_429_that_a_service_behind_the_PDS_answers_holds_only_that_accounts_method_not_the_server()
    {
        var alice = await LoggedInAsync("alice.test");
        var bob = await LoggedInAsync("bob.test");
        await FreshWindowAsync();
        // A service the PDS forwards to (its AppView, a labeler through atproto-proxy) answers 429; the PDS passes it on
        // with its own per-IP headers, which show budget left.
        Pds.AnswerWith(GetFeed, """{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"""u8.ToArray(), "application/json", status: 429);
        var refused = await CallAsync(alice.Did, XrpcRequest.Query(GetFeed));
        Assert.Equal(429, refused.Status);
        Assert.True(refused.RateLimit!.Remaining > 0);

        // The server still serves the other accounts and the account's other methods; that method waits for the reset.
        Assert.Equal(200, (await CallAsync(bob.Did, GetSession)).Status);
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        var calls = Pds.CallCount(GetFeed);
        Assert.Equal(429, (await CallAsync(alice.Did, XrpcRequest.Query(GetFeed))).Status);
        Assert.Equal(calls, Pds.CallCount(GetFeed));
    }
}
