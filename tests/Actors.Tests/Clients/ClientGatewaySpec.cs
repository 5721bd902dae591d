using Akka.Actor;
using Supervisor.Actors.Clients;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// The entry of ClusterClients (<see cref="ClientGateway"/>) in front of a probe standing for the node's gateway: what
/// reveals tokens is refused with a reply saying why and never reaches the accounts; the rest of the protocol goes
/// through with the client as its sender.
/// </summary>
public sealed class ClientGatewaySpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

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
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref));
        gateway.Tell(message, TestActor);
        var refused = ExpectMsg<RefusedToClient>();
        Assert.Equal(message.GetType().Name, refused.MessageType);
        Assert.Equal("NotAllowedToClients", refused.Error.Error);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    public static TheoryData<object> Served() => new()
    {
        new CallXrpc(Did, XrpcRequest.Query("com.atproto.server.getSession")),
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
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref));
        gateway.Tell(message, TestActor);
        Assert.Equal(message, accounts.ExpectMsg<object>());
        Assert.Equal(TestActor, accounts.LastSender);
    }

    [Fact]
    public void A_message_outside_the_protocol_is_refused()
    {
        var accounts = CreateTestProbe();
        var gateway = Sys.ActorOf(ClientGateway.Props(accounts.Ref));
        gateway.Tell("drain", TestActor);
        Assert.Equal("String", ExpectMsg<RefusedToClient>().MessageType);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
