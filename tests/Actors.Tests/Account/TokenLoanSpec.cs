using Akka.Actor;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// The account lends its access token for one request sent by someone else (the HTTP pass-through) and holds its
/// next rotation until the loan is back, so no request leaves with a token the account has already replaced.
/// </summary>
public sealed class TokenLoanSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output,
    "supervisor.accounts { request-timeout = 2s, refresh-margin-fraction = 0.01 }")
{
    private const string Refresh = "com.atproto.server.refreshSession";

    private async Task<AccessTokenLent> BorrowAsync(string id, bool streamed = false) =>
        Assert.IsType<AccessTokenLent>(await AskAsync(new BorrowAccessToken(id, "com.atproto.repo.createRecord", streamed)));

    [Fact]
    public async Task A_refresh_waits_until_the_lent_token_is_back()
    {
        var alice = await LoggedInAsync();
        await Task.Delay(1100); // the refreshed token is issued a second later: another string (access tokens have no jti)
        var loan = await BorrowAsync(alice.Did);
        var refreshed = AskAsync(new RefreshNow(alice.Did));
        await Task.Delay(TimeSpan.FromMilliseconds(800));
        Assert.Equal(0, Pds.CallCount(Refresh));
        Assert.False(refreshed.IsCompleted);
        // Given back to the account that lent it (not through the accounts, which hold it while the account's shard moves).
        Assert.NotNull(loan.Lender);
        loan.Lender.Tell(new ReturnAccessToken(alice.Did, loan.LoanId, 200));
        Assert.IsType<RefreshCompleted>(await refreshed);
        Assert.Equal(1, Pds.CallCount(Refresh));
        var next = await BorrowAsync(alice.Did);
        Assert.True(loan.AccessJwt != next.AccessJwt, "the next loan has the new token");
    }

    [Fact]
    public async Task A_loan_asked_for_while_the_refresh_call_is_in_flight_waits_and_leaves_with_the_new_token()
    {
        var dora = await LoggedInAsync("dora.test");
        await Task.Delay(1100); // the refreshed token is another string
        var old = await BorrowAsync(dora.Did);
        old.Lender!.Tell(new ReturnAccessToken(dora.Did, old.LoanId, 200));

        // The old token is still valid (the fake takes it): only the account's waiting keeps it from being lent.
        Pds.FailNext(Refresh, Supervisor.Actors.Tests.FakePds.FakeFailure.HeldUntilReleased);
        var refreshed = AskAsync(new RefreshNow(dora.Did));
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount(Refresh) == 1), TimeSpan.FromSeconds(10), "the refresh to reach the PDS");
        var waiting = BorrowAsync(dora.Did);
        await Task.Delay(500);
        Assert.False(waiting.IsCompleted, "a token was lent while its refresh was in flight");

        Pds.ReleaseHeldAnswers();
        Assert.IsType<RefreshCompleted>(await refreshed);
        var loan = await waiting;
        Assert.True(loan.AccessJwt != old.AccessJwt, "the waiting loan left with the old token");
    }

    [Fact]
    public async Task A_loan_that_is_never_given_back_ends_by_itself_and_the_rotation_goes_on()
    {
        var bob = await LoggedInAsync("bob.test");
        var loan = await BorrowAsync(bob.Did);
        Assert.True(loan.Until - DateTimeOffset.UtcNow < TimeSpan.FromSeconds(8), "a loan lasts request-timeout plus a little");
        var refreshed = await AskAsync(new RefreshNow(bob.Did));
        Assert.IsType<RefreshCompleted>(refreshed);
        Assert.Equal(1, Pds.CallCount(Refresh));
        Assert.True(DateTimeOffset.UtcNow >= loan.Until - TimeSpan.FromMilliseconds(200), "the rotation waited for the loan to expire");
    }

    [Fact]
    public async Task A_loan_lent_after_others_came_back_ends_by_itself_too()
    {
        var carol = await LoggedInAsync("carol.test");
        // The first loan starts the loans' timer; it is back at once, and the timer is left running.
        var first = await BorrowAsync(carol.Did);
        first.Lender!.Tell(new ReturnAccessToken(carol.Did, first.LoanId, 200));
        await Task.Delay(TimeSpan.FromMilliseconds(1500));
        var kept = await BorrowAsync(carol.Did);

        // The timer comes due for the first loan's time, finds the second still in time, and waits on for it.
        var refreshed = await AskAsync(new RefreshNow(carol.Did));

        Assert.IsType<RefreshCompleted>(refreshed);
        Assert.True(DateTimeOffset.UtcNow >= kept.Until - TimeSpan.FromMilliseconds(200), "the rotation waited for the second loan to expire");
    }

    [Fact]
    public async Task A_loan_returned_with_ExpiredToken_makes_the_account_refresh_before_it_lends_again()
    {
        var carol = await LoggedInAsync("carol.test");
        var loan = await BorrowAsync(carol.Did);
        Accounts.Tell(new ReturnAccessToken(carol.Did, loan.LoanId, 400, "ExpiredToken", "Token has expired"));
        var next = await BorrowAsync(carol.Did);
        Assert.Equal(1, Pds.CallCount(Refresh));
        // A second loan of the old generation coming back expired does not refresh again.
        Accounts.Tell(new ReturnAccessToken(carol.Did, loan.LoanId, 400, "ExpiredToken", "Token has expired"));
        Accounts.Tell(new ReturnAccessToken(carol.Did, next.LoanId, 200));
        Assert.Equal(AccountStateName.Active, (await StatusAsync(carol.Did)).State);
        Assert.Equal(1, Pds.CallCount(Refresh));
    }

    [Fact]
    public async Task A_PDS_refusing_the_token_it_issued_for_a_refused_one_gets_its_next_refresh_after_a_backoff_not_at_once()
    {
        var erin = await LoggedInAsync("erin.test");
        var first = await BorrowAsync(erin.Did);
        Accounts.Tell(new ReturnAccessToken(erin.Did, first.LoanId, 400, "ExpiredToken", "Token has expired"));
        var second = await BorrowAsync(erin.Did);
        Assert.Equal(1, Pds.CallCount(Refresh));

        // The fresh token is refused too: another refresh at once would go the same way, one for every request. The
        // token is lent on (for whatever it is still accepted) and the account stays Active.
        Accounts.Tell(new ReturnAccessToken(erin.Did, second.LoanId, 400, "ExpiredToken", "Token has expired"));
        var third = await BorrowAsync(erin.Did);
        Assert.True(third.AccessJwt == second.AccessJwt, "the refused token is lent on during the backoff");
        Assert.Equal(1, Pds.CallCount(Refresh));
        Assert.Equal(AccountStateName.Active, (await StatusAsync(erin.Did)).State);

        // Past the backoff (1 s, at most 1.25 s with its jitter), a refusal refreshes again.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Accounts.Tell(new ReturnAccessToken(erin.Did, third.LoanId, 400, "ExpiredToken", "Token has expired"));
        await BorrowAsync(erin.Did);
        Assert.Equal(2, Pds.CallCount(Refresh));
    }

    [Fact]
    public async Task A_streamed_body_is_lent_only_a_token_with_a_quarter_of_its_lifetime_left()
    {
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(8);
        var dave = await LoggedInAsync("dave.test");
        var first = await BorrowAsync(dave.Did);
        Accounts.Tell(new ReturnAccessToken(dave.Did, first.LoanId, 200));
        var expires = Supervisor.Actors.Session.JwtClaims.TryRead(first.AccessJwt, out _)!.ExpiresAt;
        // Less than a quarter of the lifetime (2 s) left: a buffered body could still go, a streamed one waits for a refresh.
        while (expires - DateTimeOffset.UtcNow > TimeSpan.FromSeconds(1.8)) await Task.Delay(50);
        Assert.Equal(0, Pds.CallCount(Refresh));
        var streamed = await BorrowAsync(dave.Did, streamed: true);
        Assert.Equal(1, Pds.CallCount(Refresh));
        var left = Supervisor.Actors.Session.JwtClaims.TryRead(streamed.AccessJwt, out _)!.ExpiresAt - DateTimeOffset.UtcNow;
        Assert.True(left > TimeSpan.FromSeconds(2), $"the streamed body got a fresh token ({left.TotalSeconds:0.0} s left)");
    }

    [Fact]
    public async Task A_message_that_fails_inside_the_account_is_answered_and_the_account_goes_on()
    {
        var erin = await LoggedInAsync("erin.test");
        var loan = await BorrowAsync(erin.Did); // out when the failure comes: a restarted account would have forgotten it
        var failed = Assert.IsType<AccountUnavailable>(await AskAsync(new CallXrpc(erin.Did, null!)));
        Assert.Equal("InternalError", failed.Error.Error);

        // The same run goes on: its refresh still waits for the loan it made before the failure.
        var refreshed = AskAsync(new RefreshNow(erin.Did));
        await Task.Delay(TimeSpan.FromMilliseconds(800));
        Assert.Equal(0, Pds.CallCount(Refresh));
        loan.Lender!.Tell(new ReturnAccessToken(erin.Did, loan.LoanId, 200));
        Assert.IsType<RefreshCompleted>(await refreshed);
        var answer = await CallAsync(erin.Did, GetSession);
        Assert.Equal(200, answer.Status);
        Assert.Equal(AccountStateName.Active, (await StatusAsync(erin.Did)).State);
    }
}
