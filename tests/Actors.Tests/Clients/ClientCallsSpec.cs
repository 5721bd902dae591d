using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Supervisor.Actors.Clients;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// A client's <see cref="CallXrpc"/> through the gateway (<see cref="ClientGateway"/>) is sent to the PDS by the node the
/// client reached, with the access token the account lends for it: only the loan travels to the account (in a cluster,
/// to the node it runs on), never the call's body nor the answer's. The account's rule for a token the PDS refuses holds
/// as for its own calls: it refreshes, the call goes once more, and only once.
/// </summary>
public sealed class ClientCallsSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private const string Refresh = "com.atproto.server.refreshSession";
    private const string GetSessionNsid = "com.atproto.server.getSession";

    private static readonly Supervisor.Host.Proxy.ProxySettings Proxy = new();

    /// <summary>What reached the accounts from the gateway, by type (a probe in between forwards all of it).</summary>
    private readonly ConcurrentQueue<string> _reachedAccounts = new();

    private IActorRef Gateway()
    {
        var between = CreateTestProbe();
        between.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            _reachedAccounts.Enqueue(message.GetType().Name);
            Accounts.Tell(message, sender);
            return AutoPilot.KeepRunning;
        }));
        return Sys.ActorOf(ClientGateway.Props(between.Ref, new PdsCalls(Client, Limits, Settings.RequestTimeout, AskTimeout, Proxy.SessionMethods, Proxy.PrivilegedMethods)));
    }

    private async Task<XrpcResponse> CallThroughGatewayAsync(IActorRef gateway, string did) =>
        Assert.IsType<XrpcResponse>(await gateway.Ask<object>(new CallXrpc(did, GetSession), AskTimeout));

    [Fact]
    public async Task A_clients_call_is_sent_with_a_lent_token_and_only_the_loan_reaches_the_account()
    {
        var alice = await LoggedInAsync();
        var answer = await CallThroughGatewayAsync(Gateway(), alice.Did);
        Assert.Equal(200, answer.Status);
        Assert.Contains(alice.Did, Encoding.UTF8.GetString(answer.Body));
        Assert.Equal(1, Pds.CallCount(GetSessionNsid));
        Assert.Equal(["BorrowAccessToken"], _reachedAccounts);
        // The loan went back to the account that lent it: it rotates without waiting for the loan to expire.
        var refreshed = await AskAsync(new RefreshNow(alice.Did));
        Assert.IsType<Supervisor.Actors.Protocol.AccountReplies.RefreshCompleted>(refreshed);
    }

    [Fact]
    public async Task A_clients_call_answered_with_a_compressed_error_echoing_the_token_gets_it_decoded_without_the_token()
    {
        var alice = await LoggedInAsync();
        const string DescribeRepo = "com.atproto.repo.describeRepo";
        Pds.FailNext(DescribeRepo, FakePds.FakeFailure.EchoAuthorizationGzipped);
        var call = new CallXrpc(alice.Did, XrpcRequest.Query(DescribeRepo, ("repo", alice.Did)) with { Headers = new Dictionary<string, string> { ["Accept-Encoding"] = "gzip" } });
        var answer = Assert.IsType<XrpcResponse>(await Gateway().Ask<object>(call, AskTimeout));
        var sent = Pds.LastRequestHeaders(DescribeRepo)!;
        var token = sent["authorization"]["Bearer ".Length..];

        Assert.Equal(400, answer.Status);
        Assert.False(sent.ContainsKey("accept-encoding"), "the call asked for a compressed answer");
        // The server compressed it unasked: read plain, so the echoed token was found and cut.
        Assert.True(answer.BodyText.Contains("Unexpected request with Bearer [redacted]", StringComparison.Ordinal), "the error was not read plain");
        Assert.False(answer.BodyText.Contains(token, StringComparison.Ordinal), "the account's access token reached the client");
        Assert.False(answer.Headers?.Any(h => h.Key.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)) ?? false, "a decoded body still said it was compressed");
    }

    [Fact]
    public async Task A_clients_binary_body_reaches_the_PDS_byte_for_byte()
    {
        var alice = await LoggedInAsync();
        // Every byte value, twice over, and bytes that are no UTF-8 at all: an image as a bot uploads it.
        var image = Enumerable.Range(0, 512).Select(i => (byte)(i * 7 % 256)).Concat(new byte[] { 0xFF, 0xFE, 0x00, 0xC3 }).ToArray();
        var upload = new XrpcRequest("com.atproto.repo.uploadBlob", XrpcMethodKind.Procedure, Body: image, ContentType: "image/png");
        var answer = Assert.IsType<XrpcResponse>(await Gateway().Ask<object>(new CallXrpc(alice.Did, upload), AskTimeout));
        Assert.Equal(200, answer.Status);
        // The fake PDS answers the SHA-256 and the length of the bytes it received.
        var blob = System.Text.Json.JsonDocument.Parse(answer.Body).RootElement.GetProperty("blob");
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(image)).ToLowerInvariant(), blob.GetProperty("ref").GetProperty("$link").GetString());
        Assert.Equal((image.Length, "image/png"), (blob.GetProperty("size").GetInt32(), blob.GetProperty("mimeType").GetString()));
        Assert.Equal(["BorrowAccessToken"], _reachedAccounts);
    }

    [Fact]
    public async Task A_clients_call_refused_with_ExpiredToken_goes_once_more_after_the_account_refreshed()
    {
        var alice = await LoggedInAsync();
        await Task.Delay(1100);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var answer = await CallThroughGatewayAsync(Gateway(), alice.Did);
        Assert.Equal(200, answer.Status);
        Assert.Equal(1, Pds.CallCount(Refresh));
        Assert.Equal(2, Pds.CallCount(GetSessionNsid));
        Assert.Equal(["BorrowAccessToken", "BorrowAccessToken"], _reachedAccounts);
    }

    [Fact]
    public async Task A_clients_call_refused_again_after_the_refresh_is_answered_with_the_PDS_error()
    {
        var alice = await LoggedInAsync();
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.MaxValue; // the refreshed access token too
        var answer = await CallThroughGatewayAsync(Gateway(), alice.Did);
        Assert.Equal((400, "ExpiredToken"), (answer.Status, answer.Error!.Error));
        Assert.Equal(2, Pds.CallCount(GetSessionNsid));
        // The first refused loan made the account refresh; the second, of the token that refresh brought, does not (as
        // a refused loan of the HTTP API): a PDS refusing what it has just issued is not asked again at once.
        Assert.Equal(AccountStateName.Active, (await StatusAsync(alice.Did)).State);
        Assert.Equal(1, Pds.CallCount(Refresh));
    }

    [Theory]
    [InlineData("../../admin")]
    [InlineData("com.atproto.server.getSession?x=1")]
    [InlineData("com.atproto.server.getSession/../../admin")]
    public async Task A_clients_call_to_a_method_that_is_not_an_NSID_goes_nowhere(string method)
    {
        var alice = await LoggedInAsync();
        var before = Pds.CallsInAll;
        var answer = Assert.IsType<XrpcResponse>(await Gateway().Ask<object>(new CallXrpc(alice.Did, XrpcRequest.Query(method)), AskTimeout));
        Assert.Equal((0, "InvalidRequest"), (answer.Status, answer.Error!.Error));
        Assert.Equal(before, Pds.CallsInAll);
    }

    [Fact]
    public async Task A_clients_call_of_a_session_method_is_refused_as_over_HTTP_and_nothing_reaches_the_account()
    {
        var alice = await LoggedInAsync();
        var before = Pds.CallsInAll;
        var login = XrpcRequest.Procedure("com.atproto.server.createSession", $"{{\"identifier\":\"{alice.Handle}\",\"password\":\"{alice.Password}\"}}");
        var answer = Assert.IsType<XrpcResponse>(await Gateway().Ask<object>(new CallXrpc(alice.Did, login), AskTimeout));
        Assert.Equal((0, "InvalidRequest"), (answer.Status, answer.Error!.Error));
        Assert.Equal(before, Pds.CallsInAll);
        Assert.Empty(_reachedAccounts);
    }
}
