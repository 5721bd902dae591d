using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>Persistence and recovery of accounts: the same specs on each journal database.</summary>
public abstract class AccountRecoverySpec(JournalKind kind, ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(kind), output, "supervisor.accounts.request-timeout = 2s\nsupervisor.accounts.registry-buckets = 1")
{
    private const string CreateSession = "com.atproto.server.createSession";
    private const string DeleteSession = "com.atproto.server.deleteSession";



    private static SessionTokens ExportedTokens(object reply) =>
        ImportedSession.Parse(Assert.IsType<SessionExported>(reply).Session).Grant.Tokens;

    [Fact]
    public async Task A_pending_logout_is_retried_after_a_restart()
    {
        var account = await LoggedInAsync();
        var refreshJwt = ExportedTokens(await AskAsync(new ExportSession(account.Did, SessionFormat.Json))).RefreshJwt;
        Pds.FailNext(DeleteSession, FakeFailure.ServerError500, times: 1);
        Assert.IsType<LogoutPending>(await AskAsync(new Logout(account.Did)));
        await Sys.Terminate();
        Assert.True(Pds.IsRefreshTokenLive(refreshJwt));

        var (system, accounts) = StartSecondSystem();
        try
        {
            await EventuallyAsync(() => Task.FromResult(!Pds.IsRefreshTokenLive(refreshJwt)), TimeSpan.FromSeconds(15), "the logout to be retried");
            await EventuallyAsync(async () => (await StatusAsync(account.Did, accounts)).State == AccountStateName.LoggedOut, TimeSpan.FromSeconds(5), "LoggedOut");
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task After_a_restart_accounts_are_back_and_serve_requests_without_a_new_login()
    {
        var accounts = new[] { await LoggedInAsync("a1.test"), await LoggedInAsync("a2.test"), await LoggedInAsync("a3.test") };
        await Sys.Terminate();
        var logins = Pds.CallCount(CreateSession);

        var (system, supervisor) = StartSecondSystem();
        try
        {
            foreach (var account in accounts)
                Assert.Equal(200, (await CallAsync(account.Handle, GetSession, supervisor)).Status);
            var list = Assert.IsType<AccountList>(await AskAsync(ListAccounts.Instance, supervisor));
            Assert.Equal(3, list.Accounts.Count);
            Assert.Equal(logins, Pds.CallCount(CreateSession));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_refresh_cut_off_by_a_crash_is_replayed_with_the_old_token_and_gets_the_same_successor()
    {
        const string Refresh = "com.atproto.server.refreshSession";
        var account = await LoggedInAsync();
        var before = ExportedTokens(await AskAsync(new ExportSession(account.Did, SessionFormat.Json)));
        Pds.RefreshLatency = TimeSpan.FromSeconds(1);
        _ = AskAsync(new RefreshNow(account.Did));
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount(Refresh) == 1), TimeSpan.FromSeconds(5), "the refresh to reach the PDS");
        // The process dies with the refresh in flight: the PDS rotates the pair, the answer is lost.
        await Sys.Terminate();
        await EventuallyAsync(() => Task.FromResult(Pds.SuccessorTokenId(before.RefreshJwt) is not null), TimeSpan.FromSeconds(10), "the PDS to rotate the pair");
        var successor = Pds.SuccessorTokenId(before.RefreshJwt);
        Assert.True(Pds.IsRefreshTokenLive(before.RefreshJwt), "the old token is in its grace window");
        Pds.RefreshLatency = TimeSpan.Zero;

        var (system, accounts) = StartSecondSystem();
        try
        {
            await EventuallyAsync(async () => (await StatusAsync(account.Did, accounts)).RefreshCount == 1, TimeSpan.FromSeconds(10), "the replayed refresh");
            Assert.Equal(2, Pds.CallCount(Refresh));
            Assert.Equal(0, Pds.Rejections("ExpiredToken"));
            var after = ExportedTokens(await AskAsync(new ExportSession(account.Did, SessionFormat.Json), accounts));
            Assert.NotEqual(before.Refresh.TokenId, after.Refresh.TokenId);
            // The replay got the very successor the lost call was given.
            Assert.Equal(successor, after.Refresh.TokenId);
            Assert.True(Pds.IsRefreshTokenLive(after.RefreshJwt));
            Assert.Equal(200, (await CallAsync(account.Did, GetSession, accounts)).Status);
            Assert.Equal(1, Pds.CallCount(CreateSession));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task At_start_accounts_read_their_journal_in_turns()
    {
        var accounts = new List<FakeAccount>();
        for (var i = 0; i < 4; i++) accounts.Add(await LoggedInAsync($"turn{i}.test"));
        await Sys.Terminate();
        // Each account's recovery is held until the spec lets it through: how many read at once is then exact.
        var gate = new RecoveryGate(accounts.Select(a => AccountSessionActor.PersistenceIdFor(a.Did)));

        var (system, supervisor) = StartSecondSystem(overrides: "supervisor.accounts.startup-batch = 1\n" + gate.Config);
        try
        {
            var started = new List<string>();
            for (var turn = 0; turn < accounts.Count; turn++)
            {
                await EventuallyAsync(() => Task.FromResult(gate.Held.Count == 1), TimeSpan.FromSeconds(10), $"account {turn + 1} to read its journal");
                var reading = Assert.Single(gate.Held);
                Assert.DoesNotContain(reading, started);
                started.Add(reading);
                // Everyone not let through yet is listed, as Recovering.
                var list = Assert.IsType<AccountList>(await AskAsync(ListAccounts.Instance, supervisor));
                Assert.Equal(accounts.Count, list.Accounts.Count);
                Assert.Equal(accounts.Count - turn, list.Accounts.Count(a => a.State == AccountStateName.Recovering));
                gate.Release(reading);
            }
            await EventuallyAsync(async () =>
                Assert.IsType<AccountList>(await AskAsync(ListAccounts.Instance, supervisor)).Accounts.All(a => a.State == AccountStateName.Active),
                TimeSpan.FromSeconds(10), "every account to be Active");
            Assert.Equal(1, gate.MaxHeldAtOnce);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task At_start_an_account_asked_for_starts_at_once_ahead_of_the_others()
    {
        var accounts = new List<FakeAccount>();
        for (var i = 0; i < 4; i++) accounts.Add(await LoggedInAsync($"turn{i}.test"));
        await Sys.Terminate();
        var gate = new RecoveryGate(accounts.Select(a => AccountSessionActor.PersistenceIdFor(a.Did)));

        var (system, supervisor) = StartSecondSystem(overrides: "supervisor.accounts.startup-batch = 1\n" + gate.Config);
        try
        {
            // The first account of the queue is reading its journal, and is held there.
            await EventuallyAsync(() => Task.FromResult(gate.Held.Count == 1), TimeSpan.FromSeconds(10), "the first account to read its journal");
            var first = Assert.Single(gate.Held);
            var asked = accounts.First(a => AccountSessionActor.PersistenceIdFor(a.Did) != first);
            var askedId = AccountSessionActor.PersistenceIdFor(asked.Did);

            var call = CallAsync(asked.Handle, GetSession, supervisor);
            await EventuallyAsync(() => Task.FromResult(gate.Held.Contains(askedId)), TimeSpan.FromSeconds(10), "the account asked for to start");
            gate.Release(askedId);
            Assert.Equal(200, (await call).Status);
            // It was served while the queue stood still: the first is still held, the others not even started.
            Assert.Equal([first], gate.Held);
            var list = Assert.IsType<AccountList>(await AskAsync(ListAccounts.Instance, supervisor));
            Assert.Equal(AccountStateName.Active, list.Accounts.Single(a => a.Did == asked.Did).State);
            Assert.Equal(accounts.Count - 1, list.Accounts.Count(a => a.State == AccountStateName.Recovering));

            foreach (var account in accounts) gate.Release(AccountSessionActor.PersistenceIdFor(account.Did));
            await EventuallyAsync(async () =>
                Assert.IsType<AccountList>(await AskAsync(ListAccounts.Instance, supervisor)).Accounts.All(a => a.State == AccountStateName.Active),
                TimeSpan.FromSeconds(10), "every account to be Active");
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task After_a_logout_the_journal_holds_a_deletion_event_and_no_token_after_it()
    {
        var account = await LoggedInAsync();
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.IsType<LoggedOut>(await AskAsync(new Logout(account.Did)));
        var rows = JournalRows.Read(Journal, AccountSessionActor.PersistenceIdFor(account.Did));
        Assert.Equal("SessionDeleted.v1", rows[^1].Manifest);
        var logout = rows.FindIndex(r => r.Manifest == "LogoutRequested.v1");
        Assert.True(logout > 0);
        Assert.All(rows.Skip(logout), r => Assert.DoesNotContain(TokenCipher.Prefix, r.Payload));
        Assert.Contains(TokenCipher.Prefix, rows[0].Payload);
    }


    [Fact]
    public async Task The_raw_journal_and_snapshot_tables_hold_no_token_in_clear()
    {
        var account = await LoggedInAsync();
        // A login and 25 refreshes (a start and an end each) pass snapshot-every (50): the account's state,
        // tokens included, is in the snapshot table too.
        Assert.Equal(50, Settings.SnapshotEvery);
        for (var i = 0; i < 25; i++) Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        await EventuallyAsync(() => Task.FromResult(JournalRows.ReadEverything(Journal).Any(r => r.Manifest.StartsWith("AccountSnapshot.", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "a snapshot of the account");
        var exported = ExportedTokens(await AskAsync(new ExportSession(account.Did, SessionFormat.Python)));
        Assert.IsType<LogoutPending>(await FailingLogoutAsync(account));
        var rows = JournalRows.ReadEverything(Journal);
        var snapshot = Assert.Single(rows, r => r.Manifest.StartsWith("AccountSnapshot.", StringComparison.Ordinal));
        Assert.Contains(TokenCipher.Prefix, snapshot.Payload);
        Assert.Contains(rows, r => r.Payload.Contains(TokenCipher.Prefix));
        Assert.All(rows, r => Assert.Empty(Secrets.JwtsIn(r.Payload)));
        Assert.All(rows, r => Assert.DoesNotContain(exported.RefreshJwt.Split('.')[2], r.Payload));
    }

    [Fact]
    public async Task An_event_stored_under_an_older_manifest_version_still_recovers()
    {
        var account = Pds.CreateAccount("old.test", "pw-old");
        var (access, refresh) = Pds.IssuePair(account.Did);
        await LoggedInAsync("first.test"); // the journal's tables exist, as they would under an older version
        await Sys.Terminate();
        // The layouts of version 1, written before tokens were encrypted: stored as they were.
        var established = $$"""
            {"origin":"Login","service":"{{Pds.Url}}","grant":{"did":"{{account.Did}}","handle":"old.test","tokens":{"accessJwt":"{{access}}","refreshJwt":"{{refresh}}"},"email":"old@example.com","emailConfirmed":false,"active":true,"pdsEndpoint":"{{Pds.Url}}"},"at":"2026-11-20T10:00:00+00:00"}
            """;
        var next = JournalRows.Read(Journal, RegistryBucket.PersistenceIdFor(account.Did, 1)).Select(r => r.SequenceNumber).DefaultIfEmpty(0).Max() + 1;
        JournalRows.Insert(Journal, RegistryBucket.PersistenceIdFor(account.Did, 1), next, "AccountRegistered.v1", $$"""{"did":"{{account.Did}}","handle":"old.test"}""");
        JournalRows.Insert(Journal, AccountSessionActor.PersistenceIdFor(account.Did), 1, "SessionEstablished.v1", established);

        var (system, accounts) = StartSecondSystem();
        try
        {
            var status = await StatusAsync("old.test", accounts);
            Assert.Equal(AccountStateName.Active, status.State);
            Assert.Equal(1, status.LoginCount);
            Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did), accounts));
            Assert.Equal(200, (await CallAsync(account.Did, GetSession, accounts)).Status);
            Assert.Equal(1, Pds.CallCount(CreateSession));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_wrong_token_key_is_a_clear_error_never_garbage_tokens()
    {
        var account = await LoggedInAsync();
        await Sys.Terminate();
        var rows = JournalRows.Read(Journal, AccountSessionActor.PersistenceIdFor(account.Did));
        var other = new TokenCipher([System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)]);
        var mine = TokenCipher.FromConfig(Journal.Config())!;
        var sealedToken = JournalRows.SealedValues(rows[0].Payload).First();
        Assert.StartsWith("eyJ", mine.Decrypt(sealedToken));
        var unknown = Assert.Throws<TokenKeyException>(() => other.Decrypt(sealedToken));
        Assert.Contains($"encrypted with key {mine.CurrentKeyId}, which is not configured", unknown.Message);
        var forged = sealedToken.Replace(mine.CurrentKeyId, other.CurrentKeyId);
        Assert.Contains("does not decrypt", Assert.Throws<TokenKeyException>(() => other.Decrypt(forged)).Message);
    }

    private Task<object> FailingLogoutAsync(FakeAccount account)
    {
        Pds.FailNext(DeleteSession, FakeFailure.ServerError500, times: 100);
        return AskAsync(new Logout(account.Did));
    }
}

public sealed class AccountRecoverySqliteSpec(ITestOutputHelper output) : AccountRecoverySpec(JournalKind.Sqlite, output);

public sealed class AccountRecoveryPostgresSpec(ITestOutputHelper output) : AccountRecoverySpec(JournalKind.Postgres, output);
