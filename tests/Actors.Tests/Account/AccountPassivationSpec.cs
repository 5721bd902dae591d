using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Accounts.RegistryCommands;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>Idle accounts stop (passivate), keep their status with the supervisor, and start again when needed.</summary>
public sealed class AccountPassivationSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { passivate-after = 300ms, journal-probe-interval = 1h }")
{
    [Fact]
    public async Task An_idle_account_stops_keeps_its_status_and_starts_again_for_a_request()
    {
        var account = Pds.CreateAccount("idle.test", "pw-idle");
        var started = await LoginAsync(Pds.Url, account.Handle, account.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to passivate");

        var status = await StatusAsync(account.Did);
        Assert.Equal((AccountStateName.Active, started.AccessExpiresAt), (status.State, status.AccessExpiresAt));
        Assert.Equal(new SupervisorCounts(1, 0, 1), await CountsAsync());
        // Resting, it runs on no node (the one it ran on may have left the cluster since).
        Assert.Null(status.Node);
        Assert.Null(Assert.Single(Assert.IsType<AccountList>(await AskAsync(new ListAccounts())).Accounts).Node);

        Assert.Equal(200, (await CallAsync(account.Handle, GetSession)).Status);
        Assert.Equal(new SupervisorCounts(1, 1, 0), await CountsAsync());
        Assert.NotNull((await StatusAsync(account.Did)).Node);
        Assert.Equal(1, Pds.CallCount("com.atproto.server.createSession"));
    }

    [Fact]
    public async Task During_a_journal_outage_a_resting_accounts_status_shows_its_last_state_as_degraded_with_the_journal_error()
    {
        var account = Pds.CreateAccount("resting.test", "pw-resting");
        var started = await LoginAsync(Pds.Url, account.Handle, account.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to passivate");

        // It cannot start without its journal: its status comes from what was kept of it, marked as unavailable.
        JournalHealth.MarkUnavailable("connection refused", DateTimeOffset.UtcNow);
        var status = Assert.IsType<AccountStatus>(await AskAsync(new GetAccountStatus(account.Did)));
        Assert.Equal((account.Handle, started.AccessExpiresAt, AccountStateName.Degraded), (status.Handle, status.AccessExpiresAt, status.State));
        Assert.Equal("JournalUnavailable", status.LastError?.Error);
        Assert.Equal(new SupervisorCounts(1, 0, 1), await CountsAsync());
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
    public async Task An_account_with_a_pending_logout_retry_never_passivates()
    {
        var account = await LoggedInAsync("leaving.test");
        Pds.FailNext("com.atproto.server.deleteSession", FakeFailure.ServerError500, times: 1000);
        Assert.IsType<LogoutPending>(await AskAsync(new Logout(account.Did)));
        await StaysRunningAsync(TimeSpan.FromSeconds(2), "a pending logout");
        Assert.Equal(AccountStateName.LoggingOut, (await StatusAsync(account.Did)).State);
        Assert.True(Pds.CallCount("com.atproto.server.deleteSession") >= 3, "the logout is still being retried");
    }

    [Fact]
    public async Task An_account_whose_failed_refresh_awaits_its_retry_never_passivates()
    {
        var account = await LoggedInAsync("failing.test");
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500, times: 1000);
        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(AccountStateName.Degraded, refreshed.Status.State);
        await StaysRunningAsync(TimeSpan.FromSeconds(2), "a refresh awaiting its retry");
        Assert.True(Pds.CallCount("com.atproto.server.refreshSession") >= 3, "the refresh is still being retried");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_account_whose_session_ended_or_logged_out_while_a_refresh_retry_was_pending_passivates(bool loggedOut)
    {
        var account = await LoggedInAsync("ended.test");
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500, times: 1);
        Assert.Equal(AccountStateName.Degraded, Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did))).Status.State);
        if (loggedOut) Assert.IsType<LoggedOut>(await AskAsync(new Logout(account.Did)));
        else Pds.RevokeAllRefreshTokens(account.Did); // the retry is answered as a revoked session: it ends
        var ended = loggedOut ? AccountStateName.LoggedOut : AccountStateName.NeedsLogin;
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).State == ended, TimeSpan.FromSeconds(10), "the session to end");

        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to passivate");
        Assert.Equal(ended, (await StatusAsync(account.Did)).State);
    }

    [Fact]
    public async Task A_call_by_message_in_flight_when_its_account_stops_for_a_hand_over_still_gets_the_PDSs_answer()
    {
        var account = await LoggedInAsync("moving.test");
        var lent = Assert.IsType<AccessTokenLent>(await AskAsync(new BorrowAccessToken(account.Did, "com.atproto.server.getSession")));
        lent.GiveBack(Accounts, 200);
        Pds.FailNext("com.atproto.server.getSession", FakeFailure.HeldUntilReleased);
        var call = AskAsync(new CallXrpc(account.Did, GetSession));
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount("com.atproto.server.getSession") == 1), TimeSpan.FromSeconds(10), "the call sent");

        // The shard's stop, as when the shard moves to another node: lent tokens do not hold it, so the account stops now,
        // while the PDS holds the call.
        Watch(lent.Lender!);
        lent.Lender!.Tell(StopAccount.Instance);
        ExpectTerminated(lent.Lender!, TimeSpan.FromSeconds(15));
        Assert.False(call.IsCompleted);

        Pds.ReleaseHeldAnswers();
        var answer = Assert.IsType<Supervisor.Actors.Pds.XrpcResponse>(await call);
        Assert.Equal(200, answer.Status);
        Assert.Equal(account.Did, answer.TryReadString("did"));
    }

    /// <summary>Polls the counts for <paramref name="period"/> (several passivation checks): the one account runs throughout.</summary>
    private async Task StaysRunningAsync(TimeSpan period, string why)
    {
        var until = DateTime.UtcNow + period;
        while (DateTime.UtcNow < until)
        {
            Assert.True(await CountsAsync() == new SupervisorCounts(1, 1, 0), $"the account passivated with {why}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_passivated_account_is_started_again_when_its_keep_alive_refresh_is_due()
    {
        Pds.RefreshTokenLifetime = TimeSpan.FromSeconds(12); // keep-alive due 8 to 10 s after the login
        var account = Pds.CreateAccount("sleeper.test", "pw-sleeper");
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(7), "the account to passivate");
        Assert.Equal(0, Pds.CallCount("com.atproto.server.refreshSession"));

        await EventuallyAsync(() => Task.FromResult(Pds.CallCount("com.atproto.server.refreshSession") == 1), TimeSpan.FromSeconds(14), "the keep-alive refresh");
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).RefreshCount == 1, TimeSpan.FromSeconds(10), "the refreshed status");
        // (Passivated until its next keep-alive, 8 to 10 s after the refresh.)
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(7), "the account to passivate again");
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task After_a_restart_a_resting_account_is_woken_for_its_keep_alive_refresh_without_any_request()
    {
        const string RefreshSession = "com.atproto.server.refreshSession";
        Pds.RefreshTokenLifetime = TimeSpan.FromSeconds(36); // keep-alive due 24 to 30 s after the login: time enough for the restart
        var account = Pds.CreateAccount("restarted.test", "pw-restarted");
        var expiresBy = DateTimeOffset.UtcNow + Pds.RefreshTokenLifetime; // the refresh token expires no sooner
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(7), "the account to rest");
        await Sys.Terminate();
        Assert.Equal(0, Pds.CallCount(RefreshSession));

        var (system, accounts) = StartSecondSystem();
        try
        {
            // Nothing is sent to the second system: the account's registry bucket wakes it when its keep-alive is due.
            var left = expiresBy - DateTimeOffset.UtcNow;
            await EventuallyAsync(() => Task.FromResult(Pds.CallCount(RefreshSession) == 1), left > TimeSpan.Zero ? left : TimeSpan.Zero,
                "the keep-alive refresh before the refresh token expires");
            Assert.Equal(0, Pds.Rejections("ExpiredToken") + Pds.Rejections("InvalidToken"));
            await EventuallyAsync(async () => (await StatusAsync(account.Did, accounts)).RefreshCount == 1, TimeSpan.FromSeconds(10), "the refreshed status");
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_start_makes_its_first_PDS_call_before_it_answers()
    {
        const string DescribeServer = "com.atproto.server.describeServer";
        var sleeper = Pds.CreateAccount("warm.test", "pw-warm");
        await LoginAsync(Pds.Url, sleeper.Handle, sleeper.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 1, TimeSpan.FromSeconds(5), "the account to rest");
        await Sys.Terminate();
        Assert.Equal(0, Pds.CallCount(DescribeServer));

        // Not bounded by 5 s here: a start on a loaded machine may take longer, and the call must still come first.
        var (system, accounts) = StartSecondSystem(overrides: "supervisor.accounts.warm-up-limit = 60s");
        try
        {
            // The HTTP client's first call (its code, a connection) is made before the supervisor answers, at the PDS of
            // a resting account the registry knows, and not by the first request after ready (bench/README.md, "Recovery").
            await CountsAsync(accounts);
            Assert.Equal(1, Pds.CallCount(DescribeServer));
            Assert.Equal(200, (await CallAsync(sleeper.Did, GetSession, accounts)).Status);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task After_a_restart_a_resting_account_is_not_read_until_it_is_asked_for()
    {
        var sleepers = new[] { Pds.CreateAccount("rest1.test", "pw-rest1"), Pds.CreateAccount("rest2.test", "pw-rest2"), Pds.CreateAccount("rest3.test", "pw-rest3") };
        foreach (var sleeper in sleepers) await LoginAsync(Pds.Url, sleeper.Handle, sleeper.Password);
        await EventuallyAsync(async () => (await CountsAsync()).Passivated == 3, TimeSpan.FromSeconds(5), "the accounts to rest");
        await Sys.Terminate();
        var ids = sleepers.Select(a => Supervisor.Actors.Account.AccountSessionActor.PersistenceIdFor(a.Did)).ToList();
        var gate = new RecoveryGate(ids);

        var (system, accounts) = StartSecondSystem(overrides: gate.Config);
        try
        {
            // The token key's check at start reads one account's journal: it is let through at once (held past the
            // journal's timeout, its read would fail).
            await EventuallyAsync(() => Task.FromResult(gate.Held.Count > 0), TimeSpan.FromSeconds(10), "the token key's check to read a journal");
            var probed = Assert.Single(gate.Held);
            gate.Release(probed);
            // The registry answers for them: no other journal is read.
            foreach (var sleeper in sleepers) Assert.Equal(AccountStateName.Active, (await StatusAsync(sleeper.Did, accounts)).State);
            Assert.Equal(new SupervisorCounts(3, 0, 3), await CountsAsync(accounts));
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.Empty(gate.Held);

            // A request starts the one it is for, and only that one.
            var asked = ids.First(id => id != probed);
            var untouched = ids.Single(id => id != probed && id != asked);
            var call = CallAsync(sleepers[ids.IndexOf(asked)].Handle, GetSession, accounts);
            await EventuallyAsync(() => Task.FromResult(gate.Held.Contains(asked)), TimeSpan.FromSeconds(10), "the account asked for to read its journal");
            gate.Release(asked);
            Assert.Equal(200, (await call).Status);
            // The third never began to read (the gate would hold it).
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.DoesNotContain(untouched, gate.Held);
        }
        finally
        {
            foreach (var id in ids) gate.Release(id);
            await system.Terminate();
        }
    }

    [Fact]
    public async Task An_account_stopped_before_its_rest_arrives_counts_as_passivated_only_once_the_rest_is_journaled()
    {
        var account = await LoggedInAsync("between.test");
        var status = await StatusAsync(account.Did);
        // A bucket of its own (an id the registry of this system does not use), told what an account actor tells it.
        var bucket = Sys.ActorOf(RegistryBucket.Props(1000, 1001, new AccountSettings(), TimeProvider.System, new SupervisorMetrics(), () => ActorRefs.Nobody));
        Assert.Equal(new AccountRegistration(account.Did, true), await bucket.Ask<AccountRegistration>(new RegisterAccount(account.Did, account.Handle), TimeSpan.FromSeconds(5)));
        var actor = CreateTestProbe();
        bucket.Tell(new AccountRunning(status), actor.Ref);
        Task<AccountCounts> Counts() => bucket.Ask<AccountCounts>(CountBucket.Instance, TimeSpan.FromSeconds(5));
        var running = await Counts();
        Assert.Equal((1, 1, 0), (running.Total, running.Running, running.Passivated));

        // Its Terminated (a system message) can overtake the rest it sent before it stopped: stopped, not yet rested.
        Sys.Stop(actor.Ref);
        await EventuallyAsync(async () => (await Counts()).Running == 0, TimeSpan.FromSeconds(5), "the bucket to see the actor stop");
        Assert.Equal(0, (await Counts()).Passivated);

        bucket.Tell(new AccountResting(account.Did, null, status), actor.Ref);
        await EventuallyAsync(async () => (await Counts()).Passivated == 1, TimeSpan.FromSeconds(5), "the rest to be counted");
    }
}
