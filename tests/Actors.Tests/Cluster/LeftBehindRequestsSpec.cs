using Akka.Actor;
using Akka.Event;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// A request for an account that reaches a node after the account left it (dropped by sharding: a dead letter) is
/// answered that the account moved, so that the asker sends it again at once instead of waiting out its timeout; what
/// nobody waits for is left alone.
/// </summary>
public sealed class LeftBehindRequestsSpec : Akka.TestKit.Xunit2.TestKit
{
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    [Fact]
    public void A_dropped_loan_or_call_is_answered_that_the_account_moved()
    {
        Sys.ActorOf(LeftBehindRequests.Props());
        var asker = CreateTestProbe();
        AwaitAssert(() =>
        {
            Sys.EventStream.Publish(new DeadLetter(new BorrowAccessToken(Did, "com.atproto.repo.createRecord"), asker.Ref, Sys.DeadLetters));
            Assert.Equal(Did, asker.ExpectMsg<AccountReplies.AccountMoved>(TimeSpan.FromMilliseconds(200)).AccountId);
        }, TimeSpan.FromSeconds(5));
        asker.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        Sys.EventStream.Publish(new DeadLetter(new CallXrpc(Did, new XrpcRequest("com.atproto.server.getSession", XrpcMethodKind.Query)), asker.Ref, Sys.DeadLetters));
        asker.ExpectMsg<AccountReplies.AccountMoved>();

        // Dropped by sharding while its shard was handed over (a Dropped sent to the dead letters), inside its envelope.
        Sys.DeadLetters.Tell(new Dropped(new Akka.Cluster.Sharding.ShardingEnvelope(Did, new GetAccountStatus(Did)), "hand-off", asker.Ref, ActorRefs.NoSender));
        asker.ExpectMsg<AccountReplies.AccountMoved>();

        // Without an asker, or for a message nobody waits for: no answer.
        Sys.EventStream.Publish(new DeadLetter(new BorrowAccessToken(Did, "x"), ActorRefs.Nobody, Sys.DeadLetters));
        Sys.EventStream.Publish(new DeadLetter(new ReturnAccessToken(Did, 1, 200), asker.Ref, Sys.DeadLetters));
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_logouts_deleteSession_answered_after_its_account_stopped_tells_the_logout_to_ask_again()
    {
        Sys.ActorOf(LeftBehindRequests.Props());
        var logout = CreateTestProbe();
        var deleted = new AccountSelfMessages.DeleteAnswered(XrpcResponse.Failed(XrpcError.Timeout, "no answer"), Did, logout.Ref);
        AwaitAssert(() =>
        {
            Sys.EventStream.Publish(new DeadLetter(deleted, ActorRefs.Nobody, Sys.DeadLetters));
            Assert.Equal(Did, logout.ExpectMsg<AccountReplies.AccountMoved>(TimeSpan.FromMilliseconds(200)).AccountId);
        }, TimeSpan.FromSeconds(5));
        logout.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        Sys.EventStream.Publish(new DeadLetter(new AccountSelfMessages.DeleteOwnershipChecked(7, Did, logout.Ref), ActorRefs.Nobody, Sys.DeadLetters));
        Assert.Equal(Did, logout.ExpectMsg<AccountReplies.AccountMoved>().AccountId);

        // A retry of its own (no logout waits): no answer.
        Sys.EventStream.Publish(new DeadLetter(deleted with { ReplyTo = null }, ActorRefs.Nobody, Sys.DeadLetters));
        logout.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_dropped_request_to_a_bucket_that_an_ask_waits_for_is_answered_that_it_moved_and_asked_again()
    {
        var asker = StartAnswerer();

        // A registry bucket whose first request is dropped as its shard is handed over; the second finds it.
        var bucket = Sys.ActorOf(Props.Create(() => new BucketHandedOverOnce()));
        var answer = await bucket.AskBucketAsync<object>(Buckets.To(Did, 8, new RegistryCommands.LookupAccount(Did)), TimeSpan.FromSeconds(5));
        Assert.Equal("answered the ask number 2", Assert.IsType<AccountReplies.AccountNotFound>(answer).AccountId);

        // Told by an actor that waits for nothing (an account telling its bucket it rests): no answer.
        Sys.DeadLetters.Tell(new Dropped(Buckets.To(Did, 8, new RegistryCommands.LookupAccount(Did)), "hand-off", asker.Ref, ActorRefs.NoSender));
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        // Asked, but not a request that may go again: no answer either.
        await Assert.ThrowsAsync<AskTimeoutException>(() =>
            Sys.DeadLetters.Ask<object>(new Akka.Cluster.Sharding.ShardingEnvelope(Did, "a login's answer"), TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task A_session_to_adopt_dropped_as_its_account_moves_is_sent_again_by_its_ask()
    {
        var asker = StartAnswerer();

        // The accounts supervisor asks the account's region with the session (AccountsSupervisor.DeliverSession): the first
        // delivery is dropped as the shard is handed over, the second reaches the account; the session's tokens are not lost.
        var session = new AdoptSession(new SessionGrant(Did, "alice.test", TestJwt.Pair(Did, DateTimeOffset.UtcNow)), "https://pds.example", SessionOrigin.Login, false);
        var region = Sys.ActorOf(Props.Create(() => new BucketHandedOverOnce()));
        var answer = await region.AskAccountAsync(new Akka.Cluster.Sharding.ShardingEnvelope(Did, session), TimeSpan.FromSeconds(5));
        Assert.Equal("answered the ask number 2", Assert.IsType<AccountReplies.AccountNotFound>(answer).AccountId);

        // Told without an ask waiting (nothing would send it again): no answer.
        Sys.DeadLetters.Tell(new Dropped(new Akka.Cluster.Sharding.ShardingEnvelope(Did, session), "hand-off", asker.Ref, ActorRefs.NoSender));
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    /// <summary>Starts the answerer and returns an asker once it listens to the dead letters (it subscribes as it starts).</summary>
    private Akka.TestKit.TestProbe StartAnswerer()
    {
        Sys.ActorOf(LeftBehindRequests.Props());
        var asker = CreateTestProbe();
        AwaitAssert(() =>
        {
            Sys.EventStream.Publish(new DeadLetter(new GetAccountStatus(Did), asker.Ref, Sys.DeadLetters));
            asker.ExpectMsg<AccountReplies.AccountMoved>(TimeSpan.FromMilliseconds(200));
        }, TimeSpan.FromSeconds(5));
        asker.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => m);
        return asker;
    }

    /// <summary>Drops the first message it gets as sharding does during a hand-off; answers the next with how many it got.</summary>
    private sealed class BucketHandedOverOnce : ReceiveActor
    {
        private int _asked;

        public BucketHandedOverOnce() => ReceiveAny(message =>
        {
            if (++_asked == 1) Context.System.DeadLetters.Tell(new Dropped(message, "hand-off", Sender, Self));
            else Sender.Tell(new AccountReplies.AccountNotFound($"answered the ask number {_asked}"));
        });
    }

    [Fact]
    public void A_lent_token_whose_borrower_stopped_waiting_goes_back_to_the_lender_at_once()
    {
        Sys.ActorOf(LeftBehindRequests.Props());
        var lender = CreateTestProbe();
        AwaitAssert(() =>
        {
            var loan = new AccountReplies.AccessTokenLent(Did, 7, "https://pds.example", "not-a-token", DateTimeOffset.UtcNow.AddSeconds(35), lender.Ref);
            Sys.EventStream.Publish(new DeadLetter(loan, lender.Ref, Sys.DeadLetters));
            var returned = lender.ExpectMsg<ReturnAccessToken>(TimeSpan.FromMilliseconds(200));
            Assert.Equal((Did, 7L, 0), (returned.AccountId, returned.LoanId, returned.Status));
        }, TimeSpan.FromSeconds(5));

        // One that no account sent (sent to no one, without a sender: a system outside may) would end another's loan early.
        var forged = new AccountReplies.AccessTokenLent(Did, 8, "https://pds.example", "not-a-token", DateTimeOffset.UtcNow.AddSeconds(35), lender.Ref);
        Sys.EventStream.Publish(new DeadLetter(forged, ActorRefs.Nobody, Sys.DeadLetters));
        lender.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_token_lent_to_an_ask_that_timed_out_goes_back_to_the_lender()
    {
        // The long way of a borrow (AccountAsk, Akka's Ask): a lender that answers after the Ask gave up. Akka sends
        // such a late answer to the dead letters, where it is given back.
        Sys.ActorOf(LeftBehindRequests.Props());
        var lender = CreateTestProbe();
        var late = Sys.ActorOf(Props.Create(() => new LendsLate(lender.Ref)));
        await AwaitAssertAsync(async () =>
        {
            await Assert.ThrowsAsync<AskTimeoutException>(() => late.Ask<object>(new BorrowAccessToken(Did, "app.bsky.feed.getTimeline"), TimeSpan.FromMilliseconds(100)));
            var returned = await lender.ExpectMsgAsync<ReturnAccessToken>(TimeSpan.FromMilliseconds(600));
            Assert.Equal((Did, 9L, 0), (returned.AccountId, returned.LoanId, returned.Status));
        }, TimeSpan.FromSeconds(10));
    }

    /// <summary>Answers a borrow 300 ms late with a loan of <c>lender</c>.</summary>
    private sealed class LendsLate : ReceiveActor
    {
        public LendsLate(IActorRef lender) => Receive<BorrowAccessToken>(_ =>
        {
            var asker = Sender;
            Context.System.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(300), asker,
                new AccountReplies.AccessTokenLent(Did, 9, "https://pds.example", "not-a-token", DateTimeOffset.UtcNow.AddSeconds(35), lender), Self);
        });
    }
}
