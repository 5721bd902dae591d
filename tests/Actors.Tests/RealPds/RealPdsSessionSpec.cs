using System.Text.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Events;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>The account actor against the real reference PDS (short access tokens through PDS_TEST_ACCESS_JWT_TTL).</summary>
[Collection(RealPdsCollection.Name)]
public sealed class RealPdsSessionSpec(RealPdsServer pds, ITestOutputHelper output) : SupervisorSpec(new TestJournal(), output)
{
    private static XrpcRequest Post(string did) => XrpcRequest.Procedure("com.atproto.repo.createRecord",
        $$$"""{"repo":"{{{did}}}","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2026-11-24T00:00:00Z"}}""");

    private async Task<(RealAccount Account, AccountStatus Status)> LoggedInAsync()
    {
        var account = await pds.CreateAccountAsync();
        return (account, await LoginAsync(pds.Url, account.Handle, account.Password));
    }

    [Fact]
    public async Task A_password_login_is_supervised_with_the_pds_from_the_did_document()
    {
        var (account, status) = await LoggedInAsync();
        Assert.Equal(account.Did, status.Did);
        Assert.Equal(account.Handle, status.Handle);
        Assert.Equal(AccountStateName.Active, status.State);
        Assert.Equal("com.atproto.access", status.Scope);
        Assert.Equal(pds.PublicUrl, status.Pds);
        Assert.Equal(pds.Url, status.Service);
        var answer = await CallAsync(account.Handle, GetSession);
        Assert.Equal(200, answer.Status);
        Assert.Contains(account.Did, answer.BodyText);
    }

    [Fact]
    public async Task A_login_by_email_supervises_the_account_of_that_email()
    {
        var account = await pds.CreateAccountAsync();
        var email = account.Handle.Split('.')[0] + "@example.com"; // as RealPdsServer.CreateAccountAsync registers it
        var status = await LoginAsync(pds.Url, email, account.Password);
        Assert.Equal((account.Did, account.Handle, AccountStateName.Active, 1), (status.Did, status.Handle, status.State, status.LoginCount));
        var answer = await CallAsync(account.Handle, GetSession);
        Assert.Equal(200, answer.Status);
        Assert.Contains(account.Did, answer.BodyText);
    }

    [Fact]
    public async Task A_wrong_password_gets_invalid_credentials_with_the_pds_error_name()
    {
        var account = await pds.CreateAccountAsync();
        var reply = Assert.IsType<SessionRejected>(await AskAsync(new Login(pds.Url, account.Handle, "wrong-password")));
        Assert.Equal(SessionRejection.InvalidCredentials, reply.Reason);
        Assert.Equal("AuthenticationRequired", reply.Error.Error);
    }

    [Fact]
    public async Task An_app_password_session_exposes_its_app_pass_scope()
    {
        var account = await pds.CreateAccountAsync();
        var appPassword = await pds.CreateAppPasswordAsync(account.AccessJwt, "bot");
        var status = await LoginAsync(pds.Url, account.Handle, appPassword);
        Assert.Equal("com.atproto.appPass", status.Scope);
        var denied = await CallAsync(account.Did, XrpcRequest.Procedure("com.atproto.server.createAppPassword", """{"name":"x"}"""));
        Assert.Equal(400, denied.Status);
        Assert.Equal("Bad token scope", denied.Error!.Message);
        Assert.Equal(AccountStateName.Active, (await StatusAsync(account.Did)).State);
    }

    [Fact]
    public async Task Account_creation_through_the_supervisor_starts_a_supervised_session()
    {
        var handle = RealPdsServer.NewHandle("c");
        var reply = Assert.IsType<SessionStarted>(await AskAsync(new CreateAccount(pds.Url, handle, handle.Split('.')[0] + "@example.com", TestSecrets.Password("pw-" + Guid.NewGuid()))));
        Assert.Equal(SessionOrigin.AccountCreated, reply.Origin);
        Assert.Equal(200, (await CallAsync(handle, GetSession)).Status);
    }

    [Fact]
    public async Task Requests_keep_working_across_access_token_expiries_with_one_refresh_per_expiry()
    {
        var (account, _) = await LoggedInAsync();
        var ttl = pds.AccessTokenLifetime;
        var until = DateTime.UtcNow + ttl * 2.5;
        var failures = 0;
        var calls = 0;
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            while (DateTime.UtcNow < until)
            {
                var answer = await AskAsync(new CallXrpc(account.Did, GetSession));
                Interlocked.Increment(ref calls);
                if (answer is not XrpcResponse { Status: 200 }) Interlocked.Increment(ref failures);
                await Task.Delay(50);
            }
        });
        await Task.WhenAll(workers);
        var status = await StatusAsync(account.Did);
        Output?.WriteLine($"calls {calls}, failures {failures}, refreshes {status.RefreshCount} over {ttl.TotalSeconds * 2.5} s");
        Assert.Equal(0, failures);
        Assert.InRange(status.RefreshCount, 2, 4);
    }

    [Fact]
    public async Task An_imported_session_string_is_resumed_and_exported_in_both_formats()
    {
        var account = await pds.CreateAccountAsync();
        var text = account.SessionString(pds.Url);
        var started = Assert.IsType<SessionStarted>(await AskAsync(new ImportSession(text)));
        Assert.Equal(SessionOrigin.Import, started.Origin);
        Assert.Equal(1, started.Status.RefreshCount);
        Assert.Equal(pds.PublicUrl, started.Status.Pds);

        var python = Assert.IsType<SessionExported>(await AskAsync(new ExportSession(account.Did, SessionFormat.Python)));
        var json = Assert.IsType<SessionExported>(await AskAsync(new ExportSession(account.Did, SessionFormat.Json)));
        Assert.Equal(5, python.Session.Split(":::").Length);
        Assert.DoesNotContain(account.RefreshJwt, python.Session);
        using var doc = JsonDocument.Parse(json.Session);
        Assert.Equal(pds.Url, doc.RootElement.GetProperty("service").GetString());
        Assert.Equal(ImportedSession.Parse(python.Session).Grant.Tokens.RefreshJwt, doc.RootElement.GetProperty("refreshJwt").GetString());
    }

    [Fact]
    public async Task A_revoked_import_is_reported_at_once()
    {
        var account = await pds.CreateAccountAsync();
        await Client.DeleteSessionAsync(pds.Url, account.RefreshJwt);
        var text = account.SessionString(pds.Url);
        var rejected = Assert.IsType<SessionRejected>(await AskAsync(new ImportSession(text)));
        Assert.Equal(SessionRejection.SessionRevoked, rejected.Reason);
        Assert.Equal("ExpiredToken", rejected.Error.Error);
        Assert.Equal(AccountStateName.NeedsLogin, (await StatusAsync(account.Did)).State);
        Assert.IsType<AccountUnavailable>(await AskAsync(new CallXrpc(account.Did, GetSession)));
    }

    [Fact]
    public async Task A_refresh_replayed_with_the_old_token_inside_the_grace_window_gets_the_same_successor()
    {
        var account = await pds.CreateAccountAsync();
        var text = account.SessionString(pds.Url);
        Assert.IsType<SessionStarted>(await AskAsync(new ImportSession(text, Validate: false)));
        // The rotation the actor "lost" in a crash: the PDS has moved on, the journal still holds the old token.
        var lost = await pds.RefreshDirectlyAsync(account.RefreshJwt);
        Assert.Equal(200, lost.Status);
        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(AccountStateName.Active, refreshed.Status.State);
        var exported = Assert.IsType<SessionExported>(await AskAsync(new ExportSession(account.Did, SessionFormat.Python)));
        var tokens = ImportedSession.Parse(exported.Session).Grant.Tokens;
        Assert.Equal(JwtClaims.TryRead(lost.RefreshJwt, out _)!.TokenId, tokens.Refresh.TokenId);
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task Logout_deletes_the_session_on_the_server_and_publishes_deleted()
    {
        var (account, _) = await LoggedInAsync();
        var exported = Assert.IsType<SessionExported>(await AskAsync(new ExportSession(account.Did, SessionFormat.Python)));
        var refreshJwt = ImportedSession.Parse(exported.Session).Grant.Tokens.RefreshJwt;
        var probe = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(probe.Ref, account.Did));
        Assert.IsType<LoggedOut>(await AskAsync(new Logout(account.Did)));
        var deleted = probe.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.Deleted);
        Assert.Equal(AccountStateName.LoggedOut, deleted.State);
        Assert.Equal(AccountStateName.LoggedOut, (await StatusAsync(account.Did)).State);
        var after = await pds.RefreshDirectlyAsync(refreshJwt);
        Assert.Equal((400, "ExpiredToken"), (after.Status, after.Error));
    }

    [Fact]
    public async Task A_takedown_ends_the_session_and_callers_are_told_at_once()
    {
        var (account, _) = await LoggedInAsync();
        await pds.TakedownAsync(account.Did, applied: true);
        var write = await CallAsync(account.Did, Post(account.Did));
        Assert.Equal((401, "AccountTakedown"), (write.Status, write.Error!.Error));
        // Confirmed by the refresh it starts (refused AccountTakedown by the PDS itself); a call meanwhile waits for it.
        var next = Assert.IsType<AccountUnavailable>(await AskAsync(new CallXrpc(account.Did, GetSession)));
        Assert.Equal(AccountStateName.TakenDown, next.State);
        Assert.Equal(AccountStateName.TakenDown, (await StatusAsync(account.Did)).State);
        var relogin = Assert.IsType<SessionRejected>(await AskAsync(new Login(pds.Url, account.Handle, account.Password)));
        Assert.Equal(SessionRejection.AccountTakedown, relogin.Reason);
    }

    [Fact]
    public async Task A_deactivated_account_is_reported_as_such_and_keeps_its_session()
    {
        var (account, _) = await LoggedInAsync();
        await pds.DeactivateAsync(account.Did, applied: true);
        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(AccountStateName.Deactivated, refreshed.Status.State);
        var write = await CallAsync(account.Did, Post(account.Did));
        Assert.Equal((401, "AccountDeactivated"), (write.Status, write.Error!.Error));
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
    }

    [Fact]
    public async Task A_deactivation_first_seen_on_a_write_is_reported_and_the_next_refresh_confirms_it()
    {
        var (account, _) = await LoggedInAsync();
        await pds.DeactivateAsync(account.Did, applied: true);
        var write = await CallAsync(account.Did, Post(account.Did));
        Assert.Equal((401, "AccountDeactivated"), (write.Status, write.Error!.Error));
        Assert.Equal(AccountStateName.Deactivated, (await StatusAsync(account.Did)).State);
        await pds.DeactivateAsync(account.Did, applied: false);
        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        Assert.Equal(AccountStateName.Active, refreshed.Status.State);
        Assert.Equal(200, (await CallAsync(account.Did, Post(account.Did))).Status);
    }

    [Fact]
    public async Task After_a_restart_on_the_same_journal_every_account_is_back_without_a_login()
    {
        var (first, _) = await LoggedInAsync();
        var second = await pds.CreateAccountAsync();
        Assert.IsType<SessionStarted>(await AskAsync(new ImportSession(second.SessionString(pds.Url))));
        await Sys.Terminate();

        var (system, accounts) = StartSecondSystem();
        try
        {
            await Task.Delay(pds.AccessTokenLifetime);
            foreach (var account in new[] { first, second })
            {
                var answer = await CallAsync(account.Handle, GetSession, accounts);
                Assert.Equal(200, answer.Status);
            }
            Assert.Equal(1, (await StatusAsync(first.Did, accounts)).LoginCount);
            Assert.Equal(0, (await StatusAsync(second.Did, accounts)).LoginCount);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
