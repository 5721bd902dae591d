using Akka.Actor;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// The session events' hub: each subscriber hears, once per event, the events its subscriptions match (its accounts', or
/// every account's), with tokens only when one of the matching subscriptions asked for them; nothing once it unsubscribed.
/// </summary>
public sealed class SessionEventHubSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const string Alice = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    private const string Bob = "did:plc:bobbobbobbobbobbobbobbob";

    [Fact]
    public void Each_subscriber_hears_its_accounts_events_once_with_tokens_only_when_it_asked_for_them()
    {
        var hub = Sys.ActorOf(SessionEventHub.Props());
        var aliceOnly = CreateTestProbe();
        var everyone = CreateTestProbe();
        var both = CreateTestProbe();
        Subscribe(hub, new SubscribeSessionEvents(aliceOnly.Ref, Alice, IncludeTokens: true));
        Subscribe(hub, new SubscribeSessionEvents(everyone.Ref));
        Subscribe(hub, new SubscribeSessionEvents(both.Ref));
        Subscribe(hub, new SubscribeSessionEvents(both.Ref, Bob, IncludeTokens: true));
        Subscribe(hub, new SubscribeSessionEvents(both.Ref, Bob, IncludeTokens: true)); // again: adds nothing

        hub.Tell(Refresh(Alice));
        Assert.NotNull(aliceOnly.ExpectMsg<SessionEvent>().Session);
        Assert.Null(everyone.ExpectMsg<SessionEvent>().Session);
        Assert.Null(both.ExpectMsg<SessionEvent>().Session);

        hub.Tell(Refresh(Bob));
        Assert.Null(everyone.ExpectMsg<SessionEvent>().Session);
        Assert.NotNull(both.ExpectMsg<SessionEvent>(e => e.Did == Bob).Session);
        both.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // once, though two of its subscriptions match
        aliceOnly.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Subscribe(hub, new UnsubscribeSessionEvents(both.Ref));
        hub.Tell(Refresh(Bob));
        hub.Tell(Refresh(Alice));
        Assert.Equal([Bob, Alice], everyone.ReceiveN(2).Cast<SessionEvent>().Select(e => e.Did));
        both.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // Subscribed again, it hears again; a subscriber that stops is forgotten, and the others go on hearing.
        Subscribe(hub, new SubscribeSessionEvents(both.Ref, Bob));
        Watch(aliceOnly.Ref);
        Sys.Stop(aliceOnly.Ref);
        ExpectTerminated(aliceOnly.Ref);
        hub.Tell(Refresh(Alice));
        hub.Tell(Refresh(Bob));
        Assert.Equal([Alice, Bob], everyone.ReceiveN(2).Cast<SessionEvent>().Select(e => e.Did));
        Assert.Equal(Bob, both.ExpectMsg<SessionEvent>().Did);
    }

    [Fact]
    public void A_subscriber_for_this_nodes_accounts_hears_them_without_tokens()
    {
        var hub = Sys.ActorOf(SessionEventHub.Props());
        var local = CreateTestProbe();
        Subscribe(hub, new SessionEventHub.SubscribeLocalSessionEvents(local.Ref));
        hub.Tell(Refresh(Alice));
        var heard = local.ExpectMsg<SessionEvent>();
        Assert.Equal(Alice, heard.Did);
        Assert.Null(heard.Session);
    }

    [Fact]
    public void A_subscriber_for_many_accounts_hears_each_of_them_and_no_other()
    {
        var hub = Sys.ActorOf(SessionEventHub.Props());
        var subscriber = CreateTestProbe();
        var dids = Enumerable.Range(0, 1_000).Select(i => $"did:plc:many{i:D20}").ToList();
        foreach (var did in dids) hub.Tell(new SubscribeSessionEvents(subscriber.Ref, did), TestActor);
        ReceiveN(dids.Count, TimeSpan.FromSeconds(10));

        // An account it did not subscribe to, between accounts it did: what it hears, in order, leaves that one out.
        foreach (var did in dids.Where((_, i) => i % 100 == 0)) hub.Tell(Refresh(did));
        hub.Tell(Refresh(Alice));
        hub.Tell(Refresh(dids[^1]));
        var heard = subscriber.ReceiveN(11, TimeSpan.FromSeconds(5)).Cast<SessionEvent>().Select(e => e.Did).ToList();
        Assert.Equal(dids.Where((_, i) => i % 100 == 0).Append(dids[^1]), heard);
    }

    [Fact]
    public void A_hub_named_as_a_subscriber_is_refused_so_no_event_goes_round_and_a_subscription_names_a_DID()
    {
        var hub = Sys.ActorOf(SessionEventHub.Props());
        var everyone = CreateTestProbe();
        Subscribe(hub, new SubscribeSessionEvents(everyone.Ref));
        foreach (var refused in new[] { new SubscribeSessionEvents(hub), new SubscribeSessionEvents(everyone.Ref, "alice.test"), new SubscribeSessionEvents(everyone.Ref, "did:" + new string('x', 2048)) })
        {
            hub.Tell(refused, TestActor);
            Assert.Equal(nameof(SubscribeSessionEvents), ExpectMsg<AccountReplies.RefusedToClient>().MessageType);
        }

        // A hub that heard its own events would tell them to itself (and to the other nodes) for ever.
        hub.Tell(Refresh(Alice));
        Assert.Equal(Alice, everyone.ExpectMsg<SessionEvent>().Did);
        everyone.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    private void Subscribe(IActorRef hub, object message)
    {
        hub.Tell(message, TestActor);
        ExpectMsg(message);
    }

    private static SessionEvent Refresh(string did) =>
        new(SessionEventKind.Refresh, did, "someone.test", "http://pds", AccountStateName.Active, null, DateTimeOffset.UtcNow,
            new SessionGrant(did, "someone.test", TestJwt.Pair(did, DateTimeOffset.UtcNow)));
}
