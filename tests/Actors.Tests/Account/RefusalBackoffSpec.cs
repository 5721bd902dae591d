using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A PDS that refuses the very tokens it issued: the account refreshes once, then answers refusals as they come for a
/// backoff before it tries again. Backoffs of seconds here (2 s, doubling: 1.5 to 2.5 s, 3 to 5 s, 6 to 10 s), so that a
/// loaded machine's slower calls do not outlast them.
/// </summary>
public sealed class RefusalBackoffSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { request-timeout = 2s, backoff-min = 2s, backoff-max = 30s }")
{
    private const string RefreshSession = "com.atproto.server.refreshSession";

    [Fact]
    public async Task A_PDS_refusing_every_token_it_issues_gets_one_refresh_and_then_its_refusals_back_not_a_refresh_per_request()
    {
        var account = await LoggedInAsync();
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.MaxValue; // every access token, each refreshed one too
        var answers = new List<XrpcResponse>();
        for (var i = 0; i < 10; i++) answers.Add(await CallAsync(account.Did, GetSession));

        // The first is refused before and after the refresh; the second, refused with the token that refresh brought,
        // holds the next refresh back a backoff: each request gets the PDS's answer, the account stays Active. Without
        // the hold, each request would refresh.
        Assert.All(answers, a => Assert.Equal((400, "ExpiredToken"), (a.Status, a.Error!.Error)));
        Assert.InRange(Pds.CallCount(RefreshSession), 1, 2);
        Assert.Equal(AccountStateName.Active, (await StatusAsync(account.Did)).State);

        // Past the backoff, a refusal refreshes again.
        var refreshes = Pds.CallCount(RefreshSession);
        await EventuallyAsync(async () => (await CallAsync(account.Did, GetSession)).Status == 400 && Pds.CallCount(RefreshSession) > refreshes,
            TimeSpan.FromSeconds(15), "a refresh after the backoff");
    }

    [Fact]
    public async Task Each_hold_after_a_refused_fresh_token_is_twice_the_one_before()
    {
        var account = await LoggedInAsync();
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.MaxValue; // every access token, each refreshed one too
        // Requests every 50 ms; when each refresh reached the PDS. Each refresh's token is refused at once, so the gaps
        // between refreshes are the holds: 1.5 to 2.5 s, then 3 to 5 s, then 6 to 10 s (a fixed hold: 2 s each).
        var refreshedAt = new List<TimeSpan>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (refreshedAt.Count < 4 && clock.Elapsed < TimeSpan.FromSeconds(40))
        {
            await CallAsync(account.Did, GetSession);
            while (refreshedAt.Count < Pds.CallCount(RefreshSession)) refreshedAt.Add(clock.Elapsed);
            await Task.Delay(50);
        }
        Assert.Equal(4, refreshedAt.Count);
        var holds = refreshedAt.Zip(refreshedAt.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        // (Each seen when a request after it noticed: a gap can look shorter than its hold by the time a request takes.)
        Assert.True(holds[1] >= 2.5 && holds[2] >= 5.0,
            $"the holds between refreshes were {string.Join(", ", holds.Select(h => h.ToString("0.0")))} s");
    }

    [Fact]
    public async Task A_new_session_starts_without_the_refusal_backoff_its_predecessor_had_built_up()
    {
        var account = await LoggedInAsync();
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.MaxValue; // every access token, each refreshed one too
        // Refusals until the third hold (6 to 10 s) has begun: the first two (1.5 to 2.5 s, 3 to 5 s) each ended by a refresh.
        while (Pds.CallCount(RefreshSession) < 3)
        {
            await CallAsync(account.Did, GetSession);
            await Task.Delay(50);
        }
        await CallAsync(account.Did, GetSession);

        Assert.IsType<SessionStarted>(await AskAsync(new Login(Pds.Url, account.Handle, account.Password)));
        await CallAsync(account.Did, GetSession); // refused, refreshed, refused again
        await CallAsync(account.Did, GetSession); // refused with the token that refresh brought: a hold begins
        var refreshes = Pds.CallCount(RefreshSession);

        // The new session's first hold is the shortest (at most 2.5 s); the old session's would be 6 s or more.
        await EventuallyAsync(async () => (await CallAsync(account.Did, GetSession)).Status == 400 && Pds.CallCount(RefreshSession) > refreshes,
            TimeSpan.FromSeconds(5.5), "a refresh after the new session's first backoff");
    }
}
