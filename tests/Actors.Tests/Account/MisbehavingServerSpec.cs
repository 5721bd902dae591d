using System.Diagnostics;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// An account whose PDS (from its DID document) misbehaves at the protocol level: every call ends with a
/// clear error within the request timeout (6 s here), the session is kept, and another account is served
/// meanwhile.
/// </summary>
public sealed class MisbehavingServerSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.request-timeout = 6s")
{
    private MisbehavingServer _bad = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _bad = new MisbehavingServer();
    }

    public override async Task DisposeAsync()
    {
        await _bad.DisposeAsync();
        await base.DisposeAsync();
    }

    [Theory]
    [InlineData(Misbehaviour.Hang, 0, XrpcError.Timeout)]
    [InlineData(Misbehaviour.Trickle, 0, XrpcError.Timeout)]
    [InlineData(Misbehaviour.Garbage, 0, XrpcError.NetworkError)]
    [InlineData(Misbehaviour.TruncatedBody, 0, XrpcError.NetworkError)]
    [InlineData(Misbehaviour.Reset, 0, XrpcError.NetworkError)]
    [InlineData(Misbehaviour.Html, 0, XrpcError.InvalidResponse)]
    [InlineData(Misbehaviour.Slow500, 500, "InternalServerError")]
    [InlineData(Misbehaviour.EchoAuthorization, 0, XrpcError.NetworkError)]
    public async Task A_misbehavingPds_gives_a_clear_error_in_bounded_time_and_the_session_and_other_accounts_are_kept(
        Misbehaviour mode, int status, string error)
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        Pds.PdsEndpointInDidDoc = _bad.Url;
        Assert.Equal(_bad.Url, (await LoginAsync(Pds.Url, alice.Handle, alice.Password)).Pds);
        Pds.PdsEndpointInDidDoc = null;
        await LoginAsync(Pds.Url, bob.Handle, bob.Password);
        _bad.Mode = mode;

        var clock = Stopwatch.StartNew();
        var bad = CallAsync(alice.Did, GetSession);
        if (mode is Misbehaviour.Hang or Misbehaviour.Trickle)
        {
            // Bob's call is answered while Alice's is still stuck at the server (until the 6 s request timeout).
            await EventuallyAsync(() => Task.FromResult(_bad.RequestsReceived == 1), TimeSpan.FromSeconds(5), "Alice's call to reach her PDS");
            Assert.Equal(200, (await CallAsync(bob.Did, GetSession)).Status);
            Assert.False(bad.IsCompleted, "Bob was served while Alice's call was in flight");
        }
        else
        {
            Assert.Equal(200, (await CallAsync(bob.Did, GetSession)).Status);
        }
        var answer = await bad;
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10)); // the request timeout, and time to spare
        Assert.Equal((status, error), (answer.Status, answer.Error?.Error));
        Assert.False(answer.Error!.Message.Contains("eyJ", StringComparison.Ordinal), "the error quotes a token");

        var status2 = await StatusAsync(alice.Did);
        Assert.Equal(AccountStateName.Active, status2.State);
        Assert.Equal(1, status2.LoginCount);
        Assert.Equal(0, Pds.CallCount("com.atproto.server.refreshSession"));
    }
}
