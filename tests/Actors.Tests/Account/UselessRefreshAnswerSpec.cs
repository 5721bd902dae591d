using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A PDS that answers refreshes with tokens that are already expired does not make the account spin: the
/// answer is a transient failure, the account is Degraded and keeps its session, and retries back off.
/// </summary>
public sealed class UselessRefreshAnswerSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.backoff-min = 1s\nsupervisor.accounts.backoff-max = 5m")
{
    private const string RefreshSession = "com.atproto.server.refreshSession";

    [Fact]
    public async Task A_refresh_answer_with_an_expired_refresh_token_degrades_the_account_and_retries_back_off()
    {
        var alice = await LoggedInAsync();
        var before = await StatusAsync(alice.Did);
        Pds.IssuedRefreshTokenExpClaim = DateTimeOffset.UtcNow.AddHours(-1);

        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.Equal(AccountStateName.Degraded, refreshed.Status.State);
        Assert.Equal(XrpcError.InvalidResponse, refreshed.Status.LastError!.Error);
        Assert.Equal(before.RefreshExpiresAt, refreshed.Status.RefreshExpiresAt);

        // Backoff from 1 s, doubling (with jitter of ±25 %): at most 3 retries in 6 s. Without it, dozens a second.
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.InRange(Pds.CallCount(RefreshSession), 2, 4);
        // Asked while a retry is on its way, it shows Refreshing (the third retry falls 5.25 to 8.75 s after the first).
        await EventuallyAsync(async () => (await StatusAsync(alice.Did)).State == AccountStateName.Degraded, TimeSpan.FromSeconds(3), "the retry to fail");
        Assert.Equal(0, (await StatusAsync(alice.Did)).RefreshCount);
    }
}
