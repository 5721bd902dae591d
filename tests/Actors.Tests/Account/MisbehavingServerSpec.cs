using System.Diagnostics;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// An account whose PDS (from its DID document) misbehaves at the protocol level: every call ends with a
/// clear error within the request timeout (2 s here), the session is kept, and another account is served
/// meanwhile.
/// </summary>
public sealed class MisbehavingServerSpec(ITestOutputHelper output)
    : SupervisorSpec(new TestJournal(), output, "supervisor.accounts.request-timeout = 2s"), IAsyncLifetime
{
    private FakePdsServer _pds = null!;
    private MisbehavingServer _bad = null!;

    public async Task InitializeAsync()
    {
        _pds = await FakePdsServer.StartAsync();
        _bad = new MisbehavingServer();
    }

    public async Task DisposeAsync()
    {
        await _bad.DisposeAsync();
        await _pds.DisposeAsync();
    }

    [Theory]
    [InlineData(Misbehaviour.Hang, 0, XrpcError.Timeout)]
    [InlineData(Misbehaviour.Trickle, 0, XrpcError.Timeout)]
    [InlineData(Misbehaviour.Garbage, 0, XrpcError.NetworkError)]
    [InlineData(Misbehaviour.TruncatedBody, 0, XrpcError.NetworkError)]
    [InlineData(Misbehaviour.Reset, 0, XrpcError.NetworkError)]
    [InlineData(Misbehaviour.Html, 0, XrpcError.InvalidResponse)]
    [InlineData(Misbehaviour.Slow500, 500, "InternalServerError")]
    public async Task A_misbehaving_pds_gives_a_clear_error_in_bounded_time_and_the_session_and_other_accounts_are_kept(
        Misbehaviour mode, int status, string error)
    {
        var alice = _pds.CreateAccount("alice.test", "pw-alice");
        var bob = _pds.CreateAccount("bob.test", "pw-bob");
        _pds.PdsEndpointInDidDoc = _bad.Url;
        Assert.Equal(_bad.Url, (await LoginAsync(_pds.Url, alice.Handle, alice.Password)).Pds);
        _pds.PdsEndpointInDidDoc = null;
        await LoginAsync(_pds.Url, bob.Handle, bob.Password);
        _bad.Mode = mode;

        var clock = Stopwatch.StartNew();
        var bad = CallAsync(alice.Did, GetSession);
        // Bob's call is answered while Alice's is still stuck.
        Assert.Equal(200, (await CallAsync(bob.Did, GetSession)).Status);
        var answer = await bad;
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal((status, error), (answer.Status, answer.Error?.Error));
        Assert.DoesNotContain("eyJ", answer.Error!.Message);

        var status2 = await StatusAsync(alice.Did);
        Assert.Equal(AccountStateName.Active, status2.State);
        Assert.Equal(1, status2.LoginCount);
        Assert.Equal(0, _pds.CallCount("com.atproto.server.refreshSession"));
    }
}
