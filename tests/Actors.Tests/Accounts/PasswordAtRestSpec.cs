using System.Text;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>The password is used for the one createSession call and never stored: the raw journal and snapshot rows never hold it.</summary>
public sealed class PasswordAtRestSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.snapshot-every = 2")
{
    [Fact]
    public async Task The_password_never_reaches_the_journal_after_a_login_and_refreshes()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var wrong = "wrong-" + Guid.NewGuid().ToString("N");
        var alice = Pds.CreateAccount("alice.test", password);
        Assert.Equal(SessionRejection.InvalidCredentials, Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, alice.Email, wrong))).Reason);
        await LoginAsync(Pds.Url, alice.Email, password);
        for (var i = 0; i < 3; i++) Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.Equal(3, (await StatusAsync(alice.Did)).RefreshCount);

        // What was written: the account's events and a snapshot (saved after the reply), and the registry with both login attempts.
        await EventuallyAsync(() => Task.FromResult(JournalRows.ReadEverything(Journal).Any(r =>
            r.PersistenceId == AccountSessionActor.PersistenceIdFor(alice.Did) && r.Manifest.StartsWith("AccountSnapshot", StringComparison.Ordinal))), TimeSpan.FromSeconds(10), "a snapshot");
        var rows = JournalRows.ReadEverything(Journal);
        Assert.Equal(2, rows.Count(r => r.PersistenceId.StartsWith(LoginBudgetBucket.TypeName, StringComparison.Ordinal) && r.Manifest.StartsWith("LoginAttempted", StringComparison.Ordinal)));
        foreach (var secret in new[] { password, wrong })
        {
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret));
            Assert.DoesNotContain(rows, r => r.Payload.Contains(secret, StringComparison.Ordinal) || r.Payload.Contains(encoded, StringComparison.Ordinal));
        }
    }
}
