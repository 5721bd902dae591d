using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>A registry write that fails (the journal refuses it) costs the one login, never the supervisor or its accounts.</summary>
public sealed class RegistryWriteFailureSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, FailingJournal.Config + "\nsupervisor.accounts.journal-probe-interval = 200ms")
{

    public override async Task DisposeAsync()
    {
        FailingJournal.FailWrites = false;
        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_failed_registry_write_refuses_that_login_and_every_account_goes_on()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        await LoginAsync(Pds.Url, alice.Handle, alice.Password);

        FailingJournal.FailWrites = true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, bob.Handle, bob.Password)));
        Assert.Equal(SessionRejection.ServiceUnavailable, refused.Reason);
        Assert.Equal("JournalUnavailable", refused.Error.Error);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(0, Pds.CallCount("com.atproto.server.createSession") - 1); // bob's password never left
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);

        FailingJournal.FailWrites = false;
        await EventuallyAsync(async () => await AskAsync(new Login(Pds.Url, bob.Handle, bob.Password)) is SessionStarted,
            TimeSpan.FromSeconds(15), "a login once the journal writes again");
        Assert.Equal(2, Assert.IsType<AccountList>(await AskAsync(ListAccounts.Instance)).Accounts.Count);
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
    }
}
