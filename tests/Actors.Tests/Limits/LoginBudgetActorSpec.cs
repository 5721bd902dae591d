using Supervisor.Actors.Account;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Limits;

/// <summary>The login budget in the supervisor: refused locally with a retry time, failed logins count, and it survives a restart.</summary>
public sealed class LoginBudgetActorSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, """supervisor.login-budget.default = ["3 per 1m", "5 per 1d"]""")
{
    private const string CreateSession = "com.atproto.server.createSession";

    [Fact]
    public async Task A_login_beyond_the_budget_is_refused_locally_with_its_retry_time_also_after_a_restart()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        Assert.Equal(SessionRejection.InvalidCredentials, Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "alice.test", "wrong"))).Reason);
        await LoginAsync(Pds.Url, "alice.test", alice.Password);
        await LoginAsync(Pds.Url, "alice.test", alice.Password);
        var before = DateTimeOffset.UtcNow;

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "alice.test", alice.Password)));
        Assert.Equal(SessionRejection.RateLimited, refused.Reason);
        Assert.Equal("RateLimitExceeded", refused.Error.Error);
        Assert.Contains("3 per 1m", refused.Error.Message);
        Assert.InRange(refused.RetryNotBefore!.Value, before.AddSeconds(50), before.AddSeconds(61));
        Assert.Equal(3, Pds.CallCount(CreateSession));
        // Another identifier has its own budget; the account itself keeps working.
        await LoginAsync(Pds.Url, "bob.test", bob.Password);
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);

        await Sys.Terminate();
        var (system, accounts) = StartSecondSystem();
        try
        {
            var again = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "alice.test", alice.Password), accounts));
            Assert.Equal(SessionRejection.RateLimited, again.Reason);
            Assert.Equal(refused.RetryNotBefore, again.RetryNotBefore);
            Assert.Equal(4, Pds.CallCount(CreateSession));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task The_login_budget_journals_a_hash_of_an_email_identifier_never_the_address()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice", "Alice.Budget@Mail.Example");
        Assert.Equal(SessionRejection.InvalidCredentials,
            Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "ALICE.BUDGET@MAIL.EXAMPLE", "wrong"))).Reason);
        await LoginAsync(Pds.Url, alice.Email, alice.Password);

        var budget = JournalRows.ReadEverything(Journal).Where(r => r.PersistenceId.StartsWith(LoginBudgetBucket.TypeName, StringComparison.Ordinal)).ToList();
        // Both attempts were journaled, under one key (the address in either case is the same identifier)...
        var attempts = budget.Where(r => r.Manifest.StartsWith("LoginAttempted", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Single(attempts.Select(r => System.Text.Json.JsonDocument.Parse(r.Payload).RootElement.EnumerateObject()
            .Single(p => p.Name.Equals("key", StringComparison.OrdinalIgnoreCase)).Value.GetString()).Distinct());
        // ...and no row of the budget holds the address, in any letter case.
        Assert.False(budget.Any(r => r.Payload.Contains(alice.Email, StringComparison.OrdinalIgnoreCase)
                                     || r.PersistenceId.Contains(alice.Email, StringComparison.OrdinalIgnoreCase)),
            "a login budget row holds the account's e-mail address");
    }
}
