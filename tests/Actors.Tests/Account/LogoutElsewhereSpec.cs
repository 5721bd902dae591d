using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A logout's refresh token is revoked at the service that issued it, whatever session came since from another; a
/// service the account has left is tried <see cref="Supervisor.Actors.Account.AccountRules.DeleteElsewhereAttempts"/>
/// times, then given up. (Short backoffs here: 50 to 200 ms.)
/// </summary>
public sealed class LogoutElsewhereSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { backoff-min = 50ms, backoff-max = 200ms }")
{
    private const string DeleteSession = "com.atproto.server.deleteSession";

    [Fact]
    public async Task A_pending_logouts_token_goes_only_to_its_own_service_which_is_given_up_after_its_attempts_once_the_account_left_it()
    {
        await using var other = await FakePdsServer.StartAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        other.Host(alice);
        await LoginAsync(Pds.Url, alice.Handle, alice.Password);
        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref, alice.Did));

        // The logout's deleteSession fails at the first service, and keeps failing; a login at another comes meanwhile.
        Pds.FailNext(DeleteSession, FakeFailure.ServerError500, times: 1_000);
        Assert.IsType<LogoutPending>(await AskAsync(new Logout(alice.Did)));
        Assert.IsType<SessionStarted>(await AskAsync(new Login(other.Url, alice.Handle, alice.Password)));

        var deleted = events.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.Deleted, TimeSpan.FromSeconds(30));
        Assert.Equal("InternalServerError", deleted.Error?.Error); // given up, not done
        Assert.Equal(Supervisor.Actors.Account.AccountRules.DeleteElsewhereAttempts, Pds.CallCount(DeleteSession));
        Assert.Equal(0, other.CallCount(DeleteSession)); // the first session's token never went to the second service
        Assert.Equal(200, (await CallAsync(alice.Did, GetSession)).Status);
    }
}
