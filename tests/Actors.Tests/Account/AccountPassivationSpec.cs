using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>Idle accounts stop (passivate), keep their status with the supervisor, and start again when needed.</summary>
public sealed class AccountPassivationSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.passivate-after = 300ms")
{

    private async Task<SupervisorCounts> CountsAsync() => Assert.IsType<SupervisorCounts>(await AskAsync(GetSupervisorCounts.Instance));

    [Fact]
    public async Task An_idle_account_stops_keeps_its_status_and_starts_again_for_a_request()
    {
        var account = Pds.CreateAccount("idle.test", "pw-idle");
        var started = await LoginAsync(Pds.Url, account.Handle, account.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to passivate");

        var status = await StatusAsync(account.Did);
        Assert.Equal((AccountStateName.Active, started.AccessExpiresAt), (status.State, status.AccessExpiresAt));
        Assert.Equal(new SupervisorCounts(1, 0, 1), await CountsAsync());

        Assert.Equal(200, (await CallAsync(account.Handle, GetSession)).Status);
        Assert.Equal(new SupervisorCounts(1, 1, 0), await CountsAsync());
        Assert.Equal(1, Pds.CallCount("com.atproto.server.createSession"));
    }

    [Fact]
    public async Task An_account_that_served_a_request_recently_keeps_running()
    {
        var account = Pds.CreateAccount("busy.test", "pw-busy");
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(new SupervisorCounts(1, 1, 0), await CountsAsync());
    }

    [Fact]
    public async Task A_passivated_account_is_started_again_when_its_keep_alive_refresh_is_due()
    {
        Pds.RefreshTokenLifetime = TimeSpan.FromSeconds(6); // keep-alive due 4 to 5 s after the login
        var account = Pds.CreateAccount("sleeper.test", "pw-sleeper");
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(3), "the account to passivate");
        Assert.Equal(0, Pds.CallCount("com.atproto.server.refreshSession"));

        await EventuallyAsync(() => Task.FromResult(Pds.CallCount("com.atproto.server.refreshSession") == 1), TimeSpan.FromSeconds(8), "the keep-alive refresh");
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).RefreshCount == 1, TimeSpan.FromSeconds(3), "the refreshed status");
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(3), "the account to passivate again");
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }
}
