using System.Text;
using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Identity;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>
/// A session's DID and handle are verified against the DID's own document and PDS, not believed: a stranger's server
/// cannot take over an account by naming its DID, nor move a handle by reporting it.
/// </summary>
public sealed class VerifiedIdentitySpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private IActorRef _verifying = null!;

    protected override bool DefersSupervisor => true;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // The fake PDS is also the PLC directory and the handle resolver of its accounts.
        var resolver = IdentityResolver.Create(new IdentitySettings { PlcDirectory = Pds.Url, HandleResolver = Pds.Url, CacheTtl = TimeSpan.Zero }, OutboundAddresses.WithLoopback);
        Accounts = _verifying = StartSupervisor(resolver);
    }

    private async Task<object> LoginAsync(string service, string identifier, string password) =>
        await AskAsync(new Login(service, identifier, password), _verifying);

    [Fact]
    public async Task A_session_from_a_stranger_naming_an_accounts_DID_is_refused_and_the_account_keeps_its_own()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice-id");
        var started = Assert.IsType<SessionStarted>(await LoginAsync(Pds.Url, alice.Handle, alice.Password));
        Assert.Equal(Pds.Url, started.Status.Pds);

        await using var stranger = await FakePdsServer.StartAsync();
        stranger.SigningSecret = Encoding.UTF8.GetBytes("a stranger's own key");
        stranger.Host(new FakeAccount(alice.Did, alice.Handle, "mallory@example.com", "pw-mallory-id"));
        var refused = Assert.IsType<SessionRejected>(await LoginAsync(stranger.Url, alice.Did, "pw-mallory-id"));
        Assert.Equal(SessionRejection.IdentityUnverified, refused.Reason);

        var status = Assert.IsType<AccountStatus>(await AskAsync(new GetAccountStatus(alice.Did), _verifying));
        Assert.Equal((Pds.Url, Pds.Url, 1), (status.Service, status.Pds, status.LoginCount));
        Assert.Equal(200, Assert.IsType<Pds.XrpcResponse>(await AskAsync(new CallXrpc(alice.Did, GetSession), _verifying)).Status);
        Assert.Equal(0, stranger.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task An_expired_access_token_from_another_service_does_not_replace_a_session_the_supervisor_holds()
    {
        var dora = await SupervisedAsync("dora.test", "pw-dora-id");
        await using var elsewhere = await FakePdsServer.StartAsync(); // signs with the PDS's key: its tokens are genuine there
        elsewhere.Host(dora);
        elsewhere.AccessTokenLifetime = TimeSpan.FromSeconds(1);
        var (access, refresh) = elsewhere.IssuePair(dora.Did);
        await Task.Delay(2100); // an old access token of dora's, genuine and expired (as one found in a log)

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new ImportSession($"{dora.Handle}:::{dora.Did}:::{access}:::{refresh}:::{elsewhere.Url}"), _verifying));
        Assert.Equal(SessionRejection.IdentityUnverified, refused.Reason);
        var status = Assert.IsType<AccountStatus>(await AskAsync(new GetAccountStatus(dora.Did), _verifying));
        Assert.Equal((Pds.Url, AccountStateName.Active, 1), (status.Service, status.State, status.LoginCount));
        Assert.Equal(200, Assert.IsType<Pds.XrpcResponse>(await AskAsync(new CallXrpc(dora.Did, GetSession), _verifying)).Status);
    }

    [Fact]
    public async Task An_imported_session_naming_the_accounts_own_PDS_is_proven_there_and_an_expired_or_forged_one_does_not_replace_the_held_one()
    {
        var dora = await SupervisedAsync("dora.test", "pw-dora-id");
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(1);
        var (expiredAccess, expiredRefresh) = Pds.IssuePair(dora.Did);
        Pds.AccessTokenLifetime = TimeSpan.FromHours(2);
        await Task.Delay(2100); // an old pair of dora's, genuine, its access token expired (as one found in a log)
        await using var stranger = await FakePdsServer.StartAsync();
        stranger.SigningSecret = Encoding.UTF8.GetBytes("a stranger's own key");
        var (forgedAccess, forgedRefresh) = stranger.IssuePair(dora.Did);
        var proofs = Pds.CallCount("com.atproto.server.getSession");

        // The text names dora's own PDS, so no server answer vouches for the tokens: they are proven there.
        foreach (var (access, refresh) in new[] { (expiredAccess, expiredRefresh), (forgedAccess, forgedRefresh) })
        {
            var refused = Assert.IsType<SessionRejected>(await AskAsync(new ImportSession($"{dora.Handle}:::{dora.Did}:::{access}:::{refresh}:::{Pds.Url}"), _verifying));
            Assert.Equal(SessionRejection.IdentityUnverified, refused.Reason);
        }
        Assert.Equal(proofs + 2, Pds.CallCount("com.atproto.server.getSession"));
        var status = await StatusOf(dora.Did);
        Assert.Equal((AccountStateName.Active, 1, 0), (status.State, status.LoginCount, status.RefreshCount));
        Assert.Equal(200, Assert.IsType<Pds.XrpcResponse>(await AskAsync(new CallXrpc(dora.Did, GetSession), _verifying)).Status);

        // A live pair of its own is imported as before.
        var (liveAccess, liveRefresh) = Pds.IssuePair(dora.Did);
        Assert.IsType<SessionStarted>(await AskAsync(new ImportSession($"{dora.Handle}:::{dora.Did}:::{liveAccess}:::{liveRefresh}:::{Pds.Url}"), _verifying));
    }

    [Fact]
    public async Task A_session_is_checked_against_the_DID_document_read_afresh_not_one_cached_before_the_account_moved()
    {
        await using var former = await FakePdsServer.StartAsync(); // signs with the same key: it would accept the new PDS's token
        var eve = Pds.CreateAccount("eve.test", "pw-eve-id");
        former.Host(eve);
        var resolver = IdentityResolver.Create(new IdentitySettings { PlcDirectory = Pds.Url, HandleResolver = Pds.Url, CacheTtl = TimeSpan.FromMinutes(5) },
            OutboundAddresses.WithLoopback);
        Pds.PdsEndpointInDidDoc = former.Url;
        Assert.Equal(former.Url, (await resolver.ResolveDidAsync(eve.Did)).PdsEndpoint); // cached while eve was there

        Pds.PdsEndpointInDidDoc = null; // eve moved: her document names this PDS now
        var (access, refresh) = Pds.IssuePair(eve.Did);
        var grant = Supervisor.Actors.Session.ImportedSession.Parse($"{eve.Handle}:::{eve.Did}:::{access}:::{refresh}:::{Pds.Url}").Grant;
        var verdict = await SessionIdentity.VerifyAsync(resolver, Client, grant, Pds.Url, supervisedAtPds: null, lastVerifiedHandle: null);

        Assert.Equal(Pds.Url, verdict.Grant?.PdsEndpoint);
        Assert.Equal(0, former.CallCount("com.atproto.server.getSession")); // the token never went to the PDS she left
    }

    [Fact]
    public async Task An_account_supervised_at_one_PDS_is_not_taken_by_a_session_for_another()
    {
        var bob = await SupervisedAsync("bob.test", "pw-bob-id");
        await using var other = await FakePdsServer.StartAsync();
        other.Host(bob);
        Pds.PdsEndpointInDidDoc = other.Url; // the document now names another PDS
        var refused = Assert.IsType<SessionRejected>(await LoginAsync(other.Url, bob.Handle, bob.Password));
        Assert.Equal((SessionRejection.AccountConflict, "AccountExists"), (refused.Reason, refused.Error.Error));
        Assert.Equal(Pds.Url, Assert.IsType<AccountStatus>(await AskAsync(new GetAccountStatus(bob.Did), _verifying)).Pds);
    }

    [Fact]
    public async Task An_account_whose_session_ended_logs_in_again_at_its_entryway_and_at_the_PDS_it_moved_to()
    {
        // Signed in through an entryway (its PDS another server), then logged out: what it is supervised at without a
        // session is the entryway, which is no PDS of any DID document. It was 409 AccountExists at every login since.
        var carol = Pds.CreateAccount("carol.test", "pw-carol-id");
        await using var entryway = await FakePdsServer.StartAsync();
        entryway.Host(carol);
        Assert.IsType<SessionStarted>(await LoginAsync(entryway.Url, carol.Handle, carol.Password));
        Assert.IsType<LoggedOut>(await AskAsync(new Logout(carol.Did), _verifying));
        var again = Assert.IsType<SessionStarted>(await LoginAsync(entryway.Url, carol.Handle, carol.Password));
        Assert.Equal((entryway.Url, Pds.Url), (again.Status.Service, again.Status.Pds));

        // Logged out, it may move: the session it gets at its new PDS (what the document names) is its own.
        Assert.IsType<LoggedOut>(await AskAsync(new Logout(carol.Did), _verifying));
        await using var moved = await FakePdsServer.StartAsync();
        moved.Host(carol);
        Pds.PdsEndpointInDidDoc = moved.Url;
        var there = Assert.IsType<SessionStarted>(await LoginAsync(moved.Url, carol.Handle, carol.Password));
        Assert.Equal((moved.Url, moved.Url), (there.Status.Service, there.Status.Pds));
    }

    [Fact]
    public async Task A_session_text_that_names_no_server_is_refreshed_at_its_accounts_own_PDS_not_at_bsky_social()
    {
        // The older form (handle, DID, tokens) was taken as bsky.social's: the validating refresh sent the refresh token of
        // an account on another PDS there, and the import failed.
        var fay = Pds.CreateAccount("fay.test", "pw-fay-id");
        var (access, refresh) = Pds.IssuePair(fay.Did);
        var started = Assert.IsType<SessionStarted>(await AskAsync(new ImportSession($"{fay.Handle}:::{fay.Did}:::{access}:::{refresh}"), _verifying));
        Assert.Equal((Pds.Url, Pds.Url), (started.Status.Service, started.Status.Pds));
        Assert.Equal(1, Pds.CallCount("com.atproto.server.refreshSession"));

        // An account that bsky.social hosts keeps it: its tokens are the entryway's.
        Assert.Equal(ImportedSession.DefaultService,
            ImportedSession.ServiceAfterVerification(ImportedSession.DefaultService, null, "https://morel.us-east.host.bsky.network"));
        Assert.Equal("https://pds.example", ImportedSession.ServiceAfterVerification("https://pds.example", null, "https://other.example"));
    }

    [Fact]
    public async Task A_login_or_creation_answered_with_another_accounts_session_is_refused_and_takes_no_account()
    {
        // Both on the same PDS, which answers every login with bob's session: the one asking for alice does not get bob.
        var alice = Pds.CreateAccount("alice.test", "pw-alice-id");
        var bob = Pds.CreateAccount("bob.test", "pw-bob-id");
        Pds.SessionsAnsweredFor = bob.Did;
        foreach (var identifier in new[] { alice.Handle, alice.Did, alice.Email, "ALICE.test" })
        {
            var refused = Assert.IsType<SessionRejected>(await LoginAsync(Pds.Url, identifier, alice.Password));
            Assert.Equal((SessionRejection.IdentityUnverified, "IdentityUnverified"), (refused.Reason, refused.Error.Error));
        }
        var created = Assert.IsType<SessionRejected>(await AskAsync(new CreateAccount(Pds.Url, "carl.test", "carl@example.com", "pw-carl-id"), _verifying));
        Assert.Equal(SessionRejection.IdentityUnverified, created.Reason);
        Assert.IsType<AccountNotFound>(await AskAsync(new GetAccountStatus(bob.Did), _verifying));

        // Bob's own login is bob's, by handle, DID or e-mail, in any case.
        foreach (var identifier in new[] { "BOB.test", bob.Did, bob.Email.ToUpperInvariant() })
            Assert.IsType<SessionStarted>(await LoginAsync(Pds.Url, identifier, bob.Password));
    }

    [Fact]
    public async Task The_PDS_comes_from_the_DID_document_not_from_the_answer()
    {
        var carol = Pds.CreateAccount("carol.test", "pw-carol-id");
        await using var entryway = await FakePdsServer.StartAsync();
        entryway.Host(carol); // an entryway hands out tokens the PDS accepts (shared key)
        var started = Assert.IsType<SessionStarted>(await LoginAsync(entryway.Url, carol.Handle, carol.Password));
        Assert.Equal((entryway.Url, Pds.Url), (started.Status.Service, started.Status.Pds));
        Assert.Equal(200, Assert.IsType<Pds.XrpcResponse>(await AskAsync(new CallXrpc(carol.Did, GetSession), _verifying)).Status);
        Assert.Equal(1, Pds.CallCount("com.atproto.server.getSession") - 1); // the proof, then the call, both at the PDS
    }

    [Fact]
    public async Task A_DID_document_naming_a_PDS_over_plain_http_elsewhere_gets_no_session()
    {
        var kai = Pds.CreateAccount("kai.test", "pw-kai-id");
        Pds.PdsEndpointInDidDoc = "http://pds.example.test:2583/";
        var refused = Assert.IsType<SessionRejected>(await LoginAsync(Pds.Url, kai.Handle, kai.Password));
        Assert.Equal(SessionRejection.IdentityUnverified, refused.Reason);
        Assert.Contains("plain http (pds.example.test:2583)", refused.Error.Message);

        // The server the operator logged in to by its own http address (here on this machine) is its own choice.
        Assert.True(SessionIdentity.Encrypted("http://pds.internal:2583", "http://pds.internal:2583/"));
        Assert.False(SessionIdentity.Encrypted("http://pds.internal:2583", "http://entryway.internal"));
        Assert.True(SessionIdentity.Encrypted("https://pds.example.com", "http://entryway.internal"));
    }

    [Fact]
    public async Task A_refresh_answer_naming_another_PDS_does_not_move_the_account_there()
    {
        var erin = Pds.CreateAccount("erin.test", "pw-erin-id");
        await using var entryway = await FakePdsServer.StartAsync();
        entryway.Host(erin);
        Assert.IsType<SessionStarted>(await LoginAsync(entryway.Url, erin.Handle, erin.Password));

        // Refreshes go to the login service; its answers' didDoc now names a server of its choosing.
        await using var elsewhere = await FakePdsServer.StartAsync();
        elsewhere.Host(erin);
        entryway.PdsEndpointInDidDoc = elsewhere.Url;
        var refreshed = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(erin.Did), _verifying));
        Assert.Equal(1, entryway.CallCount("com.atproto.server.refreshSession"));
        Assert.Equal(Pds.Url, refreshed.Status.Pds);
        Assert.Equal(200, Assert.IsType<Pds.XrpcResponse>(await AskAsync(new CallXrpc(erin.Did, GetSession), _verifying)).Status);
        Assert.Equal(0, elsewhere.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task A_handle_is_taken_only_when_verified_both_ways_and_the_last_verified_one_stays_otherwise()
    {
        var dave = await SupervisedAsync("dave.test", "pw-dave-id");
        var mallory = await SupervisedAsync("mallory.test", "pw-mallory-2");

        // Mallory's PDS reports dave's handle (and its document claims it): the handle resolves to dave, so nothing moves.
        // Her own still verifies (checked again when the claim does not), so she keeps it.
        Pds.ChangeHandle(mallory.Did, "dave.test");
        Pds.SetAlsoKnownAs(mallory.Did, "dave.test", "mallory.test");
        Pds.ResolveHandleTo("mallory.test", mallory.Did);
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(mallory.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(mallory.Did)).UnverifiedHandle == "dave.test", TimeSpan.FromSeconds(10), "the claim to be checked");
        Assert.Equal("mallory.test", (await StatusOf(mallory.Did)).Handle);
        Assert.Equal(dave.Did, (await StatusOf("dave.test")).Did);

        // A handle that is not even valid syntax (a forged log line) is never taken.
        Pds.ChangeHandle(mallory.Did, "evil\n[12:00:00 INF] forged.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(mallory.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(mallory.Did)).UnverifiedHandle?.StartsWith("evil") == true, TimeSpan.FromSeconds(10), "the claim to be checked");
        Assert.Equal("mallory.test", (await StatusOf(mallory.Did)).Handle);

        // A real change, verified both ways, is taken and the account is found by it.
        Pds.ChangeHandle(dave.Did, "david.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(dave.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(dave.Did)).Handle == "david.test", TimeSpan.FromSeconds(10), "the new handle to be verified");
        Assert.Null((await StatusOf(dave.Did)).UnverifiedHandle);
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("david.test"), _verifying) is AccountStatus s && s.Did == dave.Did,
            TimeSpan.FromSeconds(10), "the account to be found by its new handle");
    }

    [Fact]
    public async Task A_handle_that_moved_to_another_account_is_let_go_when_the_PDS_no_longer_reports_it()
    {
        var erin = await SupervisedAsync("erin.test", "pw-erin-id");
        var frank = await SupervisedAsync("frank.test", "pw-frank-id");

        // erin.test now resolves to frank; erin's PDS reports handle.invalid, as the reference PDS does for a handle lost.
        Pds.ChangeHandle(erin.Did, "handle.invalid");
        Pds.ChangeHandle(frank.Did, "erin.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(erin.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(erin.Did)).Handle == "handle.invalid", TimeSpan.FromSeconds(10),
            "erin to let go of a handle that resolves to another account");

        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(frank.Did), _verifying));
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("erin.test"), _verifying) is AccountStatus s && s.Did == frank.Did,
            TimeSpan.FromSeconds(10), "the handle to find frank");
        Assert.Equal("handle.invalid", (await StatusOf(erin.Did)).Handle);
    }

    [Fact]
    public async Task A_handle_verified_by_a_second_account_finds_neither_until_the_one_it_left_lets_it_go()
    {
        var gina = await SupervisedAsync("gina.test", "pw-gina-id");
        var hugo = await SupervisedAsync("hugo.test", "pw-hugo-id");

        // gina.test moves to hugo, who verifies it first: gina, never refreshed, is asked to check hers and lets it go.
        var refreshes = (await StatusOf(gina.Did)).RefreshCount;
        Pds.ChangeHandle(gina.Did, "handle.invalid");
        Pds.ChangeHandle(hugo.Did, "gina.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(hugo.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(gina.Did)).Handle == "handle.invalid", TimeSpan.FromSeconds(10),
            "gina to check her handle and let it go");
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("gina.test"), _verifying) is AccountStatus s && s.Did == hugo.Did,
            TimeSpan.FromSeconds(10), "the handle to find hugo alone");
        Assert.Equal(refreshes, (await StatusOf(gina.Did)).RefreshCount); // not by a refresh of hers
    }

    [Fact]
    public async Task A_handle_two_accounts_verified_finds_neither_by_status_export_or_logout_while_it_cannot_be_decided()
    {
        var gina = await SupervisedAsync("gina.test", "pw-gina-id");
        var hugo = await SupervisedAsync("hugo.test", "pw-hugo-id");

        // hugo's PDS reports gina.test, his document lists it and it resolves to him once (his claim verifies); from then
        // on the handle cannot be resolved, so neither gina's check nor a fresh one can decide whose it is.
        Pds.ChangeHandle(hugo.Did, "gina.test");
        Pds.SetAlsoKnownAs(hugo.Did, "gina.test", "hugo.test");
        Pds.ResolveHandleTo("gina.test", hugo.Did);
        const string ResolveHandle = "com.atproto.identity.resolveHandle";
        Pds.ReleaseHeldAnswers(); // (a held answer is then answered at once: the one resolution that succeeds)
        Pds.FailNext(ResolveHandle, FakeFailure.HeldUntilReleased);
        Pds.FailNext(ResolveHandle, FakeFailure.ServerError500, times: 1000);
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(hugo.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(hugo.Did)).Handle == "gina.test", TimeSpan.FromSeconds(10), "hugo's claim to verify");

        // An operator's status, export or logout by the handle reaches neither account (the one that may have lost it least of all).
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("gina.test"), _verifying) is AccountNotFound,
            TimeSpan.FromSeconds(10), "the handle to find neither account");
        Assert.IsType<AccountNotFound>(await AskAsync(new ExportSession("gina.test", SessionFormat.Json), _verifying));
        Assert.IsType<AccountNotFound>(await AskAsync(new Logout("gina.test"), _verifying));
        Assert.Equal((AccountStateName.Active, AccountStateName.Active), ((await StatusOf(gina.Did)).State, (await StatusOf(hugo.Did)).State));
    }

    [Fact]
    public async Task A_contested_handle_finds_the_account_it_verifies_for_afresh_when_the_other_cannot_check_its_own()
    {
        var kim = await SupervisedAsync("kim.test", "pw-kim-id");
        var lou = await SupervisedAsync("lou.test", "pw-lou-id");

        // kim.test moves to lou; kim's DID document cannot be read now: her own check fails, says nothing, and she keeps it.
        Pds.HideDidDocument(kim.Did);
        Pds.ChangeHandle(kim.Did, "handle.invalid");
        Pds.ChangeHandle(lou.Did, "kim.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(lou.Did), _verifying));
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("kim.test"), _verifying) is AccountStatus s && s.Did == lou.Did,
            TimeSpan.FromSeconds(10), "the handle to find lou, for whom it verifies");
        Assert.Equal("kim.test", (await StatusOf(kim.Did)).Handle);
        Assert.Equal("kim.test", (await StatusOf(lou.Did)).Handle);
    }

    [Fact]
    public async Task A_handle_that_merely_does_not_resolve_when_checked_again_is_kept()
    {
        var jade = await SupervisedAsync("jade.test", "pw-jade-id");

        // The PDS reports another handle that does not verify (her document does not list it); her own is still listed
        // but finds no DID (no record): that says nothing of whose it is, so she keeps it.
        Pds.ChangeHandle(jade.Did, "jade-new.test");
        Pds.SetAlsoKnownAs(jade.Did, "jade.test");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(jade.Did), _verifying));
        await EventuallyAsync(async () => (await StatusOf(jade.Did)).UnverifiedHandle == "jade-new.test", TimeSpan.FromSeconds(10), "the claim to be checked");
        await Task.Delay(500); // her own check, started after the claim's, is done by now
        Assert.Equal("jade.test", (await StatusOf(jade.Did)).Handle);
        Assert.Equal(jade.Did, (await StatusOf("jade.test")).Did);
    }

    [Fact]
    public async Task A_login_whose_handle_now_resolves_to_another_account_does_not_keep_it()
    {
        var ivy = await SupervisedAsync("ivy.test", "pw-ivy-id");
        var other = Pds.CreateAccount("other-ivy.test", "pw-other-id");
        Assert.Equal("ivy.test", (await StatusOf(ivy.Did)).Handle);

        Pds.ResolveHandleTo("ivy.test", other.Did);
        var again = Assert.IsType<SessionStarted>(await LoginAsync(Pds.Url, ivy.Did, ivy.Password));
        Assert.Equal("handle.invalid", again.Status.Handle);
    }

    [Fact]
    public async Task A_login_whose_new_handle_cannot_be_checked_keeps_the_last_verified_one_only_while_that_one_still_verifies()
    {
        var kim = await SupervisedAsync("kim.test", "pw-kim-id");
        var other = Pds.CreateAccount("other-kim.test", "pw-other-kim");

        // Kim moved to kim-new.test (her document lists only that one), whose name does not answer yet; her old one has
        // been taken since by another account. A login keeps neither.
        Pds.ChangeHandle(kim.Did, "kim-new.test");
        Pds.SetAlsoKnownAs(kim.Did, "kim-new.test");
        Pds.ResolveHandleTo("kim.test", other.Did);
        Pds.FailNext("com.atproto.identity.resolveHandle", FakeFailure.ServerError500);
        var moved = Assert.IsType<SessionStarted>(await LoginAsync(Pds.Url, kim.Did, kim.Password));
        Assert.Equal(("handle.invalid", "kim-new.test"), (moved.Status.Handle, moved.Status.UnverifiedHandle));

        // Her own, still listed and still hers, stays when the new one cannot be checked.
        var lee = await SupervisedAsync("lee.test", "pw-lee-id");
        Pds.ChangeHandle(lee.Did, "lee-new.test");
        Pds.SetAlsoKnownAs(lee.Did, "lee-new.test", "lee.test");
        Pds.FailNext("com.atproto.identity.resolveHandle", FakeFailure.ServerError500);
        var kept = Assert.IsType<SessionStarted>(await LoginAsync(Pds.Url, lee.Did, lee.Password));
        Assert.Equal(("lee.test", "lee-new.test"), (kept.Status.Handle, kept.Status.UnverifiedHandle));
    }

    /// <summary>A new account of the fake PDS, logged in through the supervisor (its session started).</summary>
    private async Task<FakeAccount> SupervisedAsync(string handle, string password)
    {
        var account = Pds.CreateAccount(handle, password);
        Assert.IsType<SessionStarted>(await LoginAsync(Pds.Url, account.Handle, account.Password));
        return account;
    }

    private async Task<AccountStatus> StatusOf(string id) => Assert.IsType<AccountStatus>(await AskAsync(new GetAccountStatus(id), _verifying));
}
