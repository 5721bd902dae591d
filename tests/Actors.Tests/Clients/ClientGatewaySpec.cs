using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Supervisor.Actors.Clients;
using Supervisor.Actors.Events;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// The entry of ClusterClients (<see cref="ClientGateway"/>) in front of a probe standing for the node's gateway: what
/// reveals tokens is refused with a reply saying why and never reaches the accounts; the rest of the protocol goes
/// through with the client as its sender. A client the gateway trusts (its name and secret in an
/// <see cref="AsTrustedClient"/>) is served what reveals tokens; a wrong secret or an unknown name is refused as any client is.
/// </summary>
public sealed class ClientGatewaySpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    /// <summary>
    /// The spec's stand-in for <see cref="Cluster.ClusterOutsiders.IsOutside"/>: its probes live in its one system, so those
    /// named <c>node-…</c> stand for the node's own actors and every other for a client's.
    /// </summary>
    private static bool Outside(IActorRef actor) => !actor.Path.Name.StartsWith("node-", StringComparison.Ordinal);

    public static TheoryData<object> RevealingTokens() => new()
    {
        new ExportSession(Did, SessionFormat.Json),
        new BorrowAccessToken(Did, "com.atproto.repo.uploadBlob"),
        new ReturnAccessToken(Did, 1, 200),
        new SubscribeSessionEvents(ActorRefs.Nobody, Did, IncludeTokens: true),
    };

    [Theory]
    [MemberData(nameof(RevealingTokens))]
    public void A_message_that_reveals_tokens_is_refused_to_a_client_and_never_reaches_the_accounts(object message)
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell(message, TestActor);
        var refused = ExpectMsg<RefusedToClient>();
        Assert.Equal(message.GetType().Name, refused.MessageType);
        Assert.Equal("NotAllowedToClients", refused.Error.Error);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Calls to a PDS through the gateway (<see cref="ClientCallsSpec"/>); the messages here never make one.</summary>
    private static readonly PdsCalls Calls = new(PdsClient.Create(TimeSpan.FromSeconds(5), outbound: OutboundAddresses.WithLoopback),
        new Supervisor.Actors.Limits.ServerLimits(new Supervisor.Actors.Limits.ServerLimitSettings()), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), new HashSet<string>(),
        new Supervisor.Host.Proxy.ProxySettings().PrivilegedMethods);

    [Fact]
    public void An_accounts_calls_past_max_in_flight_are_answered_429_at_once_and_neither_its_later_calls_nor_other_accounts_wait()
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls with { MaxInFlight = 2 }, outside: Outside));
        var call = new CallXrpc(Did, XrpcRequest.Query("app.bsky.feed.getTimeline"));
        // Two calls wait for the account's token (the probe does not lend it yet).
        gateway.Tell(call, TestActor);
        accounts.ExpectMsg<BorrowAccessToken>();
        var first = accounts.LastSender;
        gateway.Tell(call, TestActor);
        accounts.ExpectMsg<BorrowAccessToken>();

        gateway.Tell(call, TestActor);
        var refused = ExpectMsg<XrpcResponse>();
        Assert.Equal((429, "RateLimitExceeded"), (refused.Status, refused.Error?.Error));
        Assert.Contains("max-in-flight", refused.Error!.Message);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        gateway.Tell(call with { AccountId = "did:plc:another" }, TestActor);
        Assert.Equal("did:plc:another", accounts.ExpectMsg<BorrowAccessToken>().AccountId);

        // One of the account's calls ends: its next goes on.
        first.Tell(new AccountUnavailable(Did, AccountStateName.Degraded, new XrpcError("Degraded", "the last refresh failed")));
        ExpectMsg<AccountUnavailable>();
        gateway.Tell(call, TestActor);
        accounts.ExpectMsg<BorrowAccessToken>();
    }

    public static TheoryData<object> Served() => new()
    {
        new ImportSession("session"),
        new GetAccountStatus(Did),
        ListAccounts.Instance,
        new SubscribeSessionEvents(ActorRefs.Nobody, Did),
    };

    [Theory]
    [MemberData(nameof(Served))]
    public void A_protocol_message_without_tokens_goes_to_the_accounts_with_the_client_as_sender(object message)
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell(message, TestActor);
        Assert.Equal(message, accounts.ExpectMsg<object>());
        Assert.Equal(TestActor, accounts.LastSender);
    }

    [Fact]
    public void A_clients_refresh_of_an_account_goes_once_in_the_gap_and_the_next_is_refused_rate_limited()
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell(new RefreshNow(Did), TestActor);
        accounts.ExpectMsg<RefreshNow>();

        // Again within ClientGateway.RefreshGap, by its DID or in another case: refused, and nothing reaches the accounts.
        foreach (var again in new[] { Did, Did.ToUpperInvariant() })
        {
            gateway.Tell(new RefreshNow(again), TestActor);
            Assert.Equal("RateLimitExceeded", ExpectMsg<AccountReplies.RefusedToClient>().Error.Error);
        }
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        // Another account's is not held up.
        gateway.Tell(new RefreshNow("other.test"), TestActor);
        Assert.Equal("other.test", accounts.ExpectMsg<RefreshNow>().AccountId);
    }

    private const string OpsSecret = "s3cret-of-the-ops-client-0123456789";

    private static readonly TrustedClients Trusted =
        TrustedClients.Parse("ops=" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(OpsSecret))).ToLowerInvariant());

    [Theory]
    [MemberData(nameof(RevealingTokens))]
    public void A_trusted_client_is_served_what_reveals_tokens(object message)
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        gateway.Tell(new AsTrustedClient("ops", OpsSecret, (Supervisor.Actors.Serialization.IWireMessage)message), TestActor);
        var received = accounts.ExpectMsg<object>();
        if (message is SubscribeSessionEvents)
        {
            // A subscription with tokens is made by the node's relay, which confirms it to the client.
            var relayed = Assert.IsType<SubscribeSessionEvents>(received);
            Assert.True(relayed.IncludeTokens);
            accounts.Reply(relayed);
            Assert.Equal(message, ExpectMsg<SubscribeSessionEvents>());
            return;
        }
        Assert.Equal(TestActor, accounts.LastSender);
        Assert.Equal(message is ExportSession export ? export with { By = "trusted client ops" } : message, received);
    }

    public static TheoryData<string, string> NotTrusted() => new()
    {
        { "ops", "a-wrong-secret-of-the-same-length-00" },
        { "ops", "" },
        { "other", OpsSecret },
    };

    [Theory]
    [MemberData(nameof(NotTrusted))]
    public void A_wrong_secret_or_an_unknown_client_is_refused_logged_by_its_name_never_a_secret_and_nothing_reaches_the_accounts(string client, string secret)
    {
        var accounts = CreateTestProbe();
        var logs = CreateTestProbe();
        Sys.EventStream.Subscribe(logs.Ref, typeof(Akka.Event.Warning));
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        gateway.Tell(new AsTrustedClient(client, secret, new ExportSession(Did, SessionFormat.Json)), TestActor);
        var refused = ExpectMsg<RefusedToClient>();
        Assert.Equal(("ExportSession", "NotAllowedToClients"), (refused.MessageType, refused.Error.Error));
        Assert.DoesNotContain(OpsSecret, refused.Error.Message);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // The refusal is logged with the client's name, never a secret (the one given or the one expected).
        var logged = logs.FishForMessage<Akka.Event.Warning>(w => w.Message.ToString()!.Contains("not a trusted client")).Message.ToString()!;
        Assert.Contains($"the secret given for {client} does not match", logged);
        foreach (var text in new[] { secret, OpsSecret }.Where(t => t.Length > 0)) Assert.DoesNotContain(text, logged);
    }

    [Fact]
    public void A_trusted_subscriber_gets_each_event_with_its_tokens_in_plain_text_until_it_unsubscribes()
    {
        var accounts = CreateTestProbe();
        var subscriber = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        gateway.Tell(new AsTrustedClient("ops", OpsSecret, new SubscribeSessionEvents(subscriber.Ref, Did, IncludeTokens: true)), TestActor);
        accounts.ExpectMsg<SubscribeSessionEvents>();
        var relay = accounts.LastSender;
        accounts.Reply(accounts.LastMessage);
        ExpectMsg<SubscribeSessionEvents>();

        var tokens = TestJwt.Pair(Did, DateTimeOffset.UtcNow);
        var refresh = new SessionEvent(SessionEventKind.Refresh, Did, "alice.test", "http://pds", AccountStateName.Active, null, DateTimeOffset.UtcNow,
            new SessionGrant(Did, "alice.test", tokens));
        relay.Tell(refresh);
        var heard = subscriber.ExpectMsg<TrustedSessionEvent>();
        Assert.Equal((tokens.AccessJwt, tokens.RefreshJwt), (heard.AccessJwt, heard.RefreshJwt));
        Assert.Equal(refresh.WithoutTokens(), heard.Event);
        Assert.DoesNotContain(tokens.AccessJwt, heard.ToString());

        Watch(relay);
        gateway.Tell(new UnsubscribeSessionEvents(subscriber.Ref), TestActor);
        ExpectTerminated(relay);
        Assert.IsType<UnsubscribeSessionEvents>(accounts.ExpectMsg<object>());
    }

    [Fact]
    public void A_trusted_subscription_ends_when_its_subscriber_is_gone()
    {
        var accounts = CreateTestProbe();
        var subscriber = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        gateway.Tell(new AsTrustedClient("ops", OpsSecret, new SubscribeSessionEvents(subscriber.Ref, null, IncludeTokens: true)), TestActor);
        accounts.ExpectMsg<SubscribeSessionEvents>();
        var relay = accounts.LastSender;
        Watch(relay);
        Sys.Stop(subscriber.Ref);
        ExpectTerminated(relay);
    }

    [Fact]
    public void A_client_unsubscribes_only_what_it_subscribed_here_never_the_nodes_own_subscribers()
    {
        var accounts = CreateTestProbe();
        var nodesOwn = CreateTestProbe(); // as the events feed or the history writer: a path a client can name
        var clients = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell(new UnsubscribeSessionEvents(nodesOwn.Ref), TestActor);
        Assert.Equal("UnsubscribeSessionEvents", ExpectMsg<RefusedToClient>().MessageType);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        gateway.Tell(new SubscribeSessionEvents(clients.Ref, Did), TestActor);
        accounts.ExpectMsg<SubscribeSessionEvents>();
        gateway.Tell(new UnsubscribeSessionEvents(clients.Ref), TestActor);
        Assert.Equal(clients.Ref, accounts.ExpectMsg<UnsubscribeSessionEvents>().Subscriber);
    }

    [Fact]
    public void A_client_cannot_subscribe_nor_unsubscribe_the_nodes_own_actors_whose_paths_it_can_name()
    {
        var accounts = CreateTestProbe();
        var nodesOwn = CreateTestProbe("node-session-event-feed");
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        foreach (var message in new object[]
                 {
                     new SubscribeSessionEvents(nodesOwn.Ref, Did),
                     new UnsubscribeSessionEvents(nodesOwn.Ref),
                     new AsTrustedClient("ops", OpsSecret, new SubscribeSessionEvents(nodesOwn.Ref, null, IncludeTokens: true)),
                     new AsTrustedClient("ops", OpsSecret, new UnsubscribeSessionEvents(nodesOwn.Ref)),
                 })
        {
            gateway.Tell(message, TestActor);
            var refused = ExpectMsg<RefusedToClient>();
            Assert.Contains("not of the cluster", refused.Error.Message);
        }
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // Outside a spec: an actor of the node's own system is the node's.
        var gatewayAsRun = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls));
        gatewayAsRun.Tell(new SubscribeSessionEvents(CreateTestProbe().Ref, Did), TestActor);
        Assert.Equal("SubscribeSessionEvents", ExpectMsg<RefusedToClient>().MessageType);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_trusted_client_that_subscribes_again_keeps_the_one_relay_it_has_and_hears_each_event_once()
    {
        var accounts = CreateTestProbe();
        var subscriber = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        var subscribe = new AsTrustedClient("ops", OpsSecret, new SubscribeSessionEvents(subscriber.Ref, Did, IncludeTokens: true));
        gateway.Tell(subscribe, TestActor);
        accounts.ExpectMsg<SubscribeSessionEvents>();
        accounts.Reply(accounts.LastMessage);
        ExpectMsg<SubscribeSessionEvents>();

        gateway.Tell(subscribe, TestActor);
        ExpectMsg<SubscribeSessionEvents>(); // confirmed at once: the relay it has
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_subscriber_that_is_gone_is_forgotten_and_cannot_be_unsubscribed_through_the_gateway_any_more()
    {
        var accounts = CreateTestProbe();
        var clients = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell(new SubscribeSessionEvents(clients.Ref, Did), TestActor);
        accounts.ExpectMsg<SubscribeSessionEvents>();
        Watch(clients.Ref);
        Sys.Stop(clients.Ref);
        ExpectTerminated(clients.Ref);
        // The stopped actor tells its watchers one after the other: the gateway's notice may be sent a moment after this
        // spec's (a CI run saw it come after the message below). Once in the gateway's mailbox, it goes ahead of it.
        Thread.Sleep(200);

        // The gateway heard it too: the reference no longer counts as the client's.
        gateway.Tell(new UnsubscribeSessionEvents(clients.Ref), TestActor);
        Assert.Equal("UnsubscribeSessionEvents", ExpectMsg<RefusedToClient>().MessageType);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_privileged_call_is_refused_to_a_client_and_served_to_a_trusted_one()
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, Trusted, Outside));
        var mint = new CallXrpc(Did, XrpcRequest.Procedure("com.atproto.server.createAppPassword", """{"name":"mine"}"""u8.ToArray(), "application/json"));
        foreach (var name in new[] { "com.atproto.server.createAppPassword", "com.atproto.server.CreateAppPassword" })
        {
            gateway.Tell(mint with { Request = mint.Request with { Nsid = name } }, TestActor);
            var refused = ExpectMsg<RefusedToClient>();
            Assert.Equal(("CallXrpc", "NotAllowedToClients"), (refused.MessageType, refused.Error.Error));
        }
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // A trusted client's call goes on: the gateway borrows the account's token for it.
        gateway.Tell(new AsTrustedClient("ops", OpsSecret, mint), TestActor);
        Assert.Equal("com.atproto.server.createAppPassword", accounts.ExpectMsg<BorrowAccessToken>().Nsid);
    }

    [Fact]
    public void A_clients_logout_is_recorded_as_the_clients_whatever_it_says()
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell(new Logout(Did, By: "admin"), TestActor);
        var logout = accounts.ExpectMsg<Logout>();
        Assert.Equal((Did, "client"), (logout.AccountId, logout.By));
        Assert.Equal(TestActor, accounts.LastSender);
    }

    [Fact]
    public void A_message_outside_the_protocol_is_refused()
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref, Calls, outside: Outside));
        gateway.Tell("drain", TestActor);
        Assert.Equal("String", ExpectMsg<RefusedToClient>().MessageType);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
