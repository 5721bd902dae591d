using Akka.Event;
using Supervisor.Actors.Account;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>
/// Journal failures in one process, with a journal that refuses writes (and reads) on demand: a failed
/// registry write costs the one login, never the supervisor or its accounts; events held during an outage
/// survive a failed flush.
/// </summary>
[Collection(FailingJournalCollection.Name)]
public sealed class JournalFailureSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, FailingJournal.Config + "\nsupervisor.accounts.journal-probe-interval = 200ms")
{

    public override async Task DisposeAsync()
    {
        FailingJournal.FailWrites = false;
        FailingJournal.FailWritesOf = null;
        FailingJournal.FailureMessage = FailingJournal.DefaultFailureMessage;
        FailingJournal.FailReads = false;
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

    [Fact]
    public async Task Refreshes_held_in_an_outage_survive_a_failed_flush_and_the_newest_pair_is_kept()
    {
        Pds.RefreshGrace = TimeSpan.Zero; // an old refresh token dies at its first use: only the newest pair works
        var alice = await LoggedInAsync();
        FailingJournal.FailReads = true;
        FailingJournal.FailWrites = true;
        await EventuallyAsync(() => Task.FromResult(!JournalHealth.IsAvailable), TimeSpan.FromSeconds(5), "the outage to be seen");
        for (var i = 0; i < 2; i++) Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.Equal(4, (await StatusAsync(alice.Did)).UnjournaledEvents);
        var newest = ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json)));

        // The journal reads again but still refuses writes: the flush fails and the account stops.
        FailingJournal.FailReads = false;
        await EventuallyAsync(async () => (await StatusOrNullAsync(alice.Did))?.LastError?.Error == "JournalUnavailable", TimeSpan.FromSeconds(10), "the failed flush");
        FailingJournal.FailWrites = false;
        await EventuallyAsync(async () => (await StatusOrNullAsync(alice.Did)) is { State: Supervisor.Actors.Protocol.AccountStateName.Active, UnjournaledEvents: 0 },
            TimeSpan.FromSeconds(15), "the account to journal what it held");

        Assert.Equal(newest, ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json))));
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        var status = await StatusAsync(alice.Did);
        Assert.Equal((Supervisor.Actors.Protocol.AccountStateName.Active, 3, 1), (status.State, status.RefreshCount, status.LoginCount));
        Assert.Equal(0, Pds.Rejections("ExpiredToken"));
    }

    [Fact]
    public async Task A_rotated_pair_whose_write_fails_goes_to_the_accounts_next_run_instead_of_a_replay_of_the_old_token()
    {
        Pds.RefreshGrace = TimeSpan.Zero; // an old refresh token dies at its first use: a replay of it would end the session
        var alice = await LoggedInAsync();
        var first = ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json)));
        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref, alice.Did));

        // The intent is journaled, the PDS rotates the pair, the write of the new pair fails (the journal's first failure).
        FailingJournal.FailWritesOf = nameof(AccountEvents.SessionRefreshed);
        Accounts.Tell(new RefreshNow(alice.Did), TestActor);
        await EventuallyAsync(async () => (await StatusOrNullAsync(alice.Did))?.LastError?.Error == "JournalUnavailable", TimeSpan.FromSeconds(10), "the failed write");
        FailingJournal.FailWritesOf = null;
        var unanswered = ExpectMsg<AccountUnavailable>(TimeSpan.FromSeconds(5)); // the RefreshNow's caller is told, not left to time out
        Assert.Equal(("JournalUnavailable", AccountStateName.Degraded), (unanswered.Error.Error, unanswered.State));
        Assert.NotNull(unanswered.RetryNotBefore);

        // The account's next run starts from the pair the PDS gave, not from the token it has already rotated away.
        await EventuallyAsync(async () => (await StatusOrNullAsync(alice.Did)) is { State: AccountStateName.Active, UnjournaledEvents: 0 },
            TimeSpan.FromSeconds(15), "the account to run again");
        Assert.NotEqual(first, ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json))));
        Assert.Equal(SessionEventKind.Refresh, events.ExpectMsg<SessionEvent>().Kind); // announced by the run that took the pair over
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        Assert.Equal(AccountStateName.Active, (await StatusAsync(alice.Did)).State);
        Assert.Equal(0, Pds.Rejections("ExpiredToken") + Pds.Rejections("InvalidToken"));
    }

    [Fact]
    public async Task A_rotated_pair_whose_write_failed_is_taken_over_even_when_a_message_starts_the_account_at_once()
    {
        Pds.RefreshGrace = TimeSpan.Zero; // an old refresh token dies at its first use: a replay of it would end the session
        var alice = await LoggedInAsync();
        var first = ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json)));

        FailingJournal.FailWritesOf = nameof(AccountEvents.SessionRefreshed);
        Accounts.Tell(new RefreshNow(alice.Did), TestActor);
        ExpectMsg<AccountUnavailable>(TimeSpan.FromSeconds(10)); // answered as the failed write stops the account
        FailingJournal.FailWritesOf = null;
        // A message that reaches the shard straight after the stop (one its parent routed a moment before) starts the
        // account before its parent's restart. (One the shard still hands to the stopping actor is answered that the
        // account moved, as any caller is, and is sent again.)
        var region = Akka.Cluster.Sharding.ClusterSharding.Get(Sys).ShardRegion("account");
        object reply = new AccountMoved(alice.Did);
        for (var tries = 0; tries < 20 && reply is AccountMoved; tries++)
        {
            region.Tell(new Akka.Cluster.Sharding.ShardingEnvelope(alice.Did, new GetAccountStatus(alice.Did)), TestActor);
            reply = ExpectMsg<object>(TimeSpan.FromSeconds(10));
        }
        Assert.IsType<AccountStatus>(reply);

        await EventuallyAsync(async () => (await StatusOrNullAsync(alice.Did)) is { State: AccountStateName.Active, UnjournaledEvents: 0, RefreshCount: 1 },
            TimeSpan.FromSeconds(15), "the account to run with the rotated pair journaled");
        Assert.NotEqual(first, ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json))));
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        Assert.Equal(0, Pds.Rejections("ExpiredToken") + Pds.Rejections("InvalidToken"));
        Assert.Equal(1, Pds.CallCount("com.atproto.server.refreshSession"));
    }

    [Fact]
    public async Task A_refresh_asked_for_when_another_node_has_taken_the_account_over_is_answered_that_it_moved()
    {
        var alice = await LoggedInAsync();
        // The write is refused as a unique-key violation: another owner wrote to the account's journal since.
        FailingJournal.FailureMessage = "duplicate key value violates unique constraint \"pk_event_journal\"";
        FailingJournal.FailWritesOf = nameof(AccountEvents.RefreshStarted);
        Accounts.Tell(new RefreshNow(alice.Did), TestActor);
        Assert.Equal(alice.Did, ExpectMsg<AccountMoved>(TimeSpan.FromSeconds(10)).AccountId);
    }

    [Fact]
    public async Task A_rotated_pair_refused_with_another_accounts_duplicate_key_in_its_batch_goes_to_the_accounts_next_run()
    {
        Pds.RefreshGrace = TimeSpan.Zero; // an old refresh token dies at its first use: a replay of it would end the session
        var alice = await LoggedInAsync();
        var first = ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json)));

        // Akka.Persistence.Sql inserts several accounts' events in one statement: a sequence number taken in another
        // account's journal (a takeover race) refuses the write of the new pair here too, though no one else wrote here.
        FailingJournal.FailureMessage = "duplicate key value violates unique constraint \"pk_event_journal\"";
        FailingJournal.FailWritesOf = nameof(AccountEvents.SessionRefreshed);
        Accounts.Tell(new RefreshNow(alice.Did), TestActor);
        Assert.Equal(alice.Did, ExpectMsg<AccountMoved>(TimeSpan.FromSeconds(10)).AccountId); // asked again, it reaches the account's next run
        FailingJournal.FailWritesOf = null;

        // Restarted by its node, the account runs from the pair the PDS gave, not from the token it rotated away.
        await EventuallyAsync(async () => (await StatusOrNullAsync(alice.Did)) is { State: AccountStateName.Active, UnjournaledEvents: 0, RefreshCount: 1 },
            TimeSpan.FromSeconds(15), "the account to run again with the rotated pair journaled");
        Assert.NotEqual(first, ExportedRefreshId(await AskAsync(new ExportSession(alice.Did, SessionFormat.Json))));
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
        Assert.Equal(0, Pds.Rejections("ExpiredToken") + Pds.Rejections("InvalidToken"));
        Assert.Equal(1, Pds.CallCount("com.atproto.server.refreshSession"));
    }

    [Fact]
    public async Task A_call_in_flight_when_a_failed_write_stops_its_account_still_gets_the_PDSs_answer()
    {
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Error));
        var alice = await LoggedInAsync();
        Pds.FailNext("com.atproto.server.getSession", FakeFailure.HeldUntilReleased);
        var call = AskAsync(new CallXrpc(alice.Did, GetSession));
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount("com.atproto.server.getSession") == 1), TimeSpan.FromSeconds(5), "the call sent");

        // A logout does not wait for calls in flight; its write fails and the account stops while the PDS holds the call.
        FailingJournal.FailWritesOf = nameof(AccountEvents.LogoutRequested);
        Accounts.Tell(new Logout(alice.Did), TestActor);
        await errors.FishForMessageAsync<Error>(e => e.Message.ToString()!.Contains($"Account {alice.Did}: the journal failed to write LogoutRequested"),
            TimeSpan.FromSeconds(30));
        FailingJournal.FailWritesOf = null;
        Assert.False(call.IsCompleted);

        Pds.ReleaseHeldAnswers();
        var answer = Assert.IsType<XrpcResponse>(await call);
        Assert.Equal(200, answer.Status);
        Assert.Equal(alice.Did, answer.TryReadString("did"));
    }

    [Fact]
    public async Task A_logout_whose_journal_write_fails_sends_no_deleteSession_and_can_be_sent_again()
    {
        const string DeleteSession = "com.atproto.server.deleteSession";
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Error));
        var alice = await LoggedInAsync();

        FailingJournal.FailWritesOf = nameof(AccountEvents.LogoutRequested);
        Accounts.Tell(new Logout(alice.Did), TestActor);
        await errors.FishForMessageAsync<Error>(e => e.Message.ToString()!.Contains($"Account {alice.Did}: the journal failed to write LogoutRequested"),
            TimeSpan.FromSeconds(30));
        FailingJournal.FailWritesOf = null;

        // The logout did not happen: it is not answered, and the account's next run (after 2 s) still holds the session.
        ExpectNoMsg(TimeSpan.FromSeconds(3));
        await EventuallyAsync(async () => await AskAsync(new CallXrpc(alice.Did, GetSession)) is XrpcResponse { Status: 200 },
            TimeSpan.FromSeconds(15), "the account to serve again with its session");
        Assert.Equal(0, Pds.CallCount(DeleteSession));

        // Sent again, it logs the account out with one deleteSession.
        Assert.IsType<LoggedOut>(await AskAsync(new Logout(alice.Did)));
        Assert.Equal(1, Pds.CallCount(DeleteSession));
    }

    [Fact]
    public async Task With_another_node_in_the_cluster_a_refresh_waits_through_a_journal_outage_until_it_is_journaled()
    {
        var alice = await LoggedInAsync();
        // A second node joins: from now on another node could run alice, and only a journaled refresh is fenced.
        using var other = await SecondMemberAsync();

        FailingJournal.FailReads = true;
        FailingJournal.FailWrites = true;
        await EventuallyAsync(() => Task.FromResult(!JournalHealth.IsAvailable), TimeSpan.FromSeconds(5), "the outage to be seen");
        var refreshes = Pds.CallCount("com.atproto.server.refreshSession");
        var refreshCount = (await StatusAsync(alice.Did)).RefreshCount;
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        Assert.Equal(refreshes, Pds.CallCount("com.atproto.server.refreshSession"));
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status); // it still serves with the tokens it has

        FailingJournal.FailReads = false;
        FailingJournal.FailWrites = false;
        await EventuallyAsync(() => Task.FromResult(JournalHealth.IsAvailable), TimeSpan.FromSeconds(5), "the journal back");
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount("com.atproto.server.refreshSession") == refreshes + 1), TimeSpan.FromSeconds(5),
            "the refresh that waited, once it can be journaled");
        await EventuallyAsync(async () => (await StatusAsync(alice.Did)) is { UnjournaledEvents: 0 } status && status.RefreshCount == refreshCount + 1, TimeSpan.FromSeconds(5), "the refresh journaled");
        await other.Terminate();
    }

    [Fact]
    public async Task An_account_stopped_by_the_journal_is_restarted_after_2_s_then_after_doubling_delays_up_to_a_minute()
    {
        var warnings = CreateTestProbe();
        Sys.EventStream.Subscribe(warnings.Ref, typeof(Warning));
        var alice = await LoggedInAsync();
        FailingJournal.FailReads = true;
        FailingJournal.FailWrites = true;
        await EventuallyAsync(() => Task.FromResult(!JournalHealth.IsAvailable), TimeSpan.FromSeconds(5), "the outage to be seen");
        Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));

        // The journal reads again but refuses every write: each run of the account recovers, fails to journal
        // what it holds, and stops; the supervisor says when it starts the next run.
        FailingJournal.FailReads = false;
        var delays = new List<TimeSpan>();
        var stoppedAt = new List<DateTime>();
        while (delays.Count < 6)
        {
            var stopped = warnings.FishForMessage<Warning>(w => w.Message.ToString()!.Contains($"Account {alice.Did} stopped unexpectedly"), TimeSpan.FromSeconds(90));
            stoppedAt.Add(stopped.Timestamp);
            var delay = System.Text.RegularExpressions.Regex.Match(stopped.Message.ToString()!, @"restarting it in (\S+)").Groups[1].Value;
            delays.Add(TimeSpan.Parse(delay, System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal([2, 4, 8, 16, 32, 60], delays.Select(d => d.TotalSeconds));
        // Each run started no earlier than its delay (a timer never fires early).
        for (var i = 1; i < stoppedAt.Count; i++) Assert.True(stoppedAt[i] - stoppedAt[i - 1] >= delays[i - 1] - TimeSpan.FromMilliseconds(20));
    }

    private static string? ExportedRefreshId(object reply) =>
        Supervisor.Actors.Session.ImportedSession.Parse(Assert.IsType<SessionExported>(reply).Session).Grant.Tokens.Refresh.TokenId;
}
