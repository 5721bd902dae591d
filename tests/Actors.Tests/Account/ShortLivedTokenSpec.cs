using Akka.Actor;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A PDS whose access tokens never have the time left that a streamed body wants (a quarter of their lifetime, at most
/// request-timeout): a fresh one is lent as it is, rather than refreshed again and again for one upload.
/// </summary>
public sealed class ShortLivedTokenSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { request-timeout = 15s, min-refresh-interval = 3s }")
{
    [Fact]
    public async Task A_streamed_body_is_lent_a_fresh_token_with_less_time_than_it_wants_instead_of_refresh_after_refresh()
    {
        // Each access token lives 10 s but says it was issued a day ago: a quarter of that is more than request-timeout (15 s).
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(10);
        Pds.AccessTokenIssuedAtOffset = -TimeSpan.FromDays(1);
        var alice = await LoggedInAsync();
        await Task.Delay(3100); // the login's pair is older than min-refresh-interval (3 s): a streamed body waits for a refresh

        var lent = await Accounts.Ask<object>(new BorrowAccessToken(alice.Did, "com.atproto.repo.uploadBlob", Streamed: true), TimeSpan.FromSeconds(5));

        // Lent the pair that refresh brought (without it: refreshes, each a journal write, for as long as the borrow waits).
        Assert.IsType<AccessTokenLent>(lent);
        Assert.InRange(Pds.CallCount("com.atproto.server.refreshSession"), 1, 3);
    }
}
